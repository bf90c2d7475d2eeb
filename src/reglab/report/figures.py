"""The report's figures, drawn with matplotlib's object API on the Agg backend (no pyplot state).

Each builder returns a :class:`FigureSpec` (a stable ``id`` used as the HTML element id and the
PNG file name, a title, an alt text and the PNG bytes) or None when the runs hold nothing to show
(no sweep, no stored weight histograms):

* ``fig-learning-curves`` - per arm, mean training and validation loss (best epoch marked) next
  to the accuracy curves.
* ``fig-gap`` - the train-val gap of the final weights per arm (the table's gap), 95% CIs.
* ``fig-heatmap-<field>-<field>`` - validation accuracy over a two-field grid, best cell outlined.
* ``fig-sweep-<field>`` - validation accuracy vs the swept value (log axis for weight decay, L1
  and L2; the reference arm at value 0 as a dashed line), one per sweep; one line per slice when
  the other fields take several values (no slice is dropped).
* ``fig-dropout-ablation`` - test accuracy and gap vs the dropout rate, with 95% intervals.
* ``fig-weight-hist`` - weight histograms of the baseline and the L1 and L2/weight-decay arms
  (from ``final["weight_hist"]``): L1's spike at zero vs L2's uniform shrinkage.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reglab.analysis import quantities as Q
from reglab.analysis.effects import ArmSummary, Sweep, find_sweeps, sweep_slices

__all__ = ["FigureSpec", "build_figures", "learning_curves", "gap_curves", "sweep_figure", "heatmap_figure",
           "dropout_ablation", "weight_histograms", "mean_curve", "new_figure", "figure_png"]

_DPI = 100
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")


@dataclass(frozen=True)
class FigureSpec:
    id: str
    title: str
    alt: str
    caption: str
    png: bytes


def new_figure(width: float, height: float) -> Any:
    """A matplotlib ``Figure`` (Agg canvas, constrained layout) of ``width`` x ``height`` inches."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig: Any) -> bytes:
    """``fig`` as PNG bytes, without the ``Software`` metadata (same figure, same bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    return buf.getvalue()


def mean_curve(histories: Sequence[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    """Per-epoch mean of ``key`` over runs (runs stopped early contribute to fewer epochs).

    Non-finite values are skipped.
    """
    sums: dict[int, list[float]] = {}
    for h in histories:
        epochs = h.get("epoch") or list(range(1, len(h.get("val_loss") or []) + 1))
        values = h.get(key) or []
        for e, v in zip(epochs, values):
            if v is not None and math.isfinite(v):
                sums.setdefault(int(e), []).append(float(v))
    xs = sorted(sums)
    return xs, [sum(sums[e]) / len(sums[e]) for e in xs]


def _color(i: int) -> str:
    return _COLORS[i % len(_COLORS)]


def learning_curves(summaries: Sequence[ArmSummary]) -> FigureSpec | None:
    """Per arm, the loss curves (left) next to the accuracy curves (right), mean over seeds."""
    arms = [s for s in summaries if any(r.history.get("val_loss") for r in s.runs)]
    if not arms:
        return None
    with_acc = any(mean_curve([r.history for r in s.runs], "val_acc")[1] for s in arms)
    per_row = 1 if with_acc else 3  # arms per row: with accuracy each arm takes two panels
    panels = 2 if with_acc else 1
    cols = min(per_row, len(arms)) * panels
    rows = math.ceil(len(arms) / per_row)
    fig = new_figure(4.2 * cols, 3.0 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    notes = []
    for i, s in enumerate(arms):
        r, c = divmod(i, per_row)
        ax = axes[r][c * panels]
        hs = [run.history for run in s.runs]
        ex, tr = mean_curve(hs, "train_loss")
        vx, vl = mean_curve(hs, "val_loss")
        ax.plot(ex, tr, color=_color(i), linestyle="--", label="train loss")
        ax.plot(vx, vl, color=_color(i), label="validation loss")
        if vl:
            best = Q.best_epoch({"epoch": vx, "val_loss": vl})
            j = vx.index(best)
            ax.axvline(best, color="0.4", linestyle=":", linewidth=1)
            ax.plot([best], [vl[j]], marker="o", color="black", markersize=5,
                    label=f"best epoch {best}")
            notes.append(f"{s.arm}: best epoch {best}")
        ax.set_title(f"{s.arm} (n={s.n}): loss", fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss (mean over seeds)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        if with_acc:
            ax2 = axes[r][c * panels + 1]
            ax_, ta = mean_curve(hs, "train_acc")
            vax, va = mean_curve(hs, "val_acc")
            ax2.plot(ax_, [100 * v for v in ta], color=_color(i), linestyle="--",
                     label="train accuracy")
            ax2.plot(vax, [100 * v for v in va], color=_color(i), label="validation accuracy")
            ax2.set_title(f"{s.arm} (n={s.n}): accuracy", fontsize=10)
            ax2.set_xlabel("epoch")
            ax2.set_ylabel("accuracy % (mean over seeds)")
            ax2.legend(fontsize=7)
            ax2.grid(alpha=0.3)
    for k in range(len(arms) * panels, rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    what = "loss and accuracy" if with_acc else "loss"
    return FigureSpec(
        id="fig-learning-curves",
        title="Learning curves per arm",
        alt=f"Learning curves: mean training and validation {what} over epochs for each arm, "
            "best epoch marked (" + "; ".join(notes) + ")",
        caption=f"Mean training (dashed) and validation (solid) {what} over seeds; the dot and "
                "the dotted line mark the epoch of the lowest mean validation loss. Training "
                "curves average each epoch's batches with dropout, noise and mixing active; "
                "validation curves are measured in eval mode.",
        png=figure_png(fig),
    )


def gap_curves(summaries: Sequence[ArmSummary]) -> FigureSpec | None:
    """The train-validation gap of the final weights per arm (the table's gap), with 95% CIs."""
    arms = [s for s in summaries if not math.isnan(s.gap[0])]
    if not arms:
        return None
    accuracy = arms[0].metric == "accuracy"
    scale = 100.0 if accuracy else 1.0
    fig = new_figure(max(4.0, 1.1 * len(arms) + 2.0), 3.6)
    ax = fig.subplots()
    xs = list(range(len(arms)))
    for i, s in enumerate(arms):
        _errorbar(ax, [xs[i]], [s.gap], _color(i), s.arm, scale=scale)
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.set_xticks(xs, [s.arm for s in arms], rotation=20, ha="right", fontsize=8)
    ylabel = "train - validation accuracy (points)" if accuracy else "validation - train loss"
    ax.set_ylabel(ylabel)
    ax.set_title("Train-validation gap of the final weights (mean, 95% CI)", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    kind = "accuracy" if accuracy else "loss"
    return FigureSpec(
        id="fig-gap",
        title="Train-validation gap per arm",
        alt=("Train-validation accuracy gap" if accuracy else "Validation-train loss gap")
            + " of the final weights per arm: "
            + ", ".join(f"{s.arm} {Q.format_gap(s.gap[0], kind)}" for s in arms),
        caption=("Training minus validation accuracy in points" if accuracy
                 else "Validation minus training loss")
                + " of the final weights, measured in eval mode on the whole splits (the "
                "table's gap); mean and 95% interval over seeds.",
        png=figure_png(fig),
    )


def _errorbar(ax: Any, xs: list[float], stats: list[tuple[float, float, float]], color: str,
              label: str, scale: float = 100.0) -> None:
    ys = [scale * m for m, _, _ in stats]
    lo = [0.0 if math.isnan(low) else scale * (m - low) for m, low, _ in stats]
    hi = [0.0 if math.isnan(high) else scale * (high - m) for m, _, high in stats]
    ax.errorbar(xs, ys, yerr=[lo, hi], color=color, marker="o", capsize=3, label=label)


def _metric_words(s: ArmSummary) -> tuple[str, float, str, float]:
    """(metric name, scale, unit, sign making larger better) for ``s.metric``."""
    if s.metric == "accuracy":
        return "accuracy", 100.0, "%", 1.0
    if s.metric == "rmse":
        return "RMSE", 1.0, "", -1.0
    return "loss", 1.0, "", -1.0


def sweep_figure(sweep: Sweep, slices: Sequence[tuple[str, Sweep]] = ()) -> FigureSpec:
    """Validation accuracy (or loss, for regression) with its 95% CI vs the swept value; with
    several ``slices`` (the other fields at other values), one line per slice."""
    if len(slices) > 1:
        return _sliced_sweep_figure(sweep.field, slices)
    fig = new_figure(6.0, 4.0)
    ax = fig.subplots()
    metric, scale, unit, sign = _metric_words(sweep.points[0][1])
    ref = [(v, s) for v, s in sweep.points if not v]
    pts = [(float(v), s) for v, s in sweep.points if v]
    if sweep.log_scale:
        ax.set_xscale("log")
    if len({v for v, _ in pts}) == 1:  # one swept value besides 0: give the axis a width first
        ax.set_xlim(pts[0][0] / 2, pts[0][0] * 2 if sweep.log_scale else pts[0][0] * 1.5)
    _errorbar(ax, [v for v, _ in pts], [s.val for _, s in pts], _color(0),
              f"validation {metric}", scale=scale)
    if ref:
        r = ref[0][1]
        m, low, high = (scale * v for v in r.val)
        name = r.arm if sweep.field in r.arm else f"{r.arm} ({sweep.field}=0)"
        ax.axhline(m, color="0.3", linestyle="--", linewidth=1,
                   label=f"{name}: {m:.1f}{unit}" if unit else f"{name}: {m:.3g}")
        if not math.isnan(low):
            ax.axhspan(low, high, color="0.5", alpha=0.15, linewidth=0)
    best = Q.select_best(sweep.points, lambda p: p[1].val[0], higher_is_better=sign > 0) or sweep.points[0]
    ax.set_xlabel(sweep.field + (" (log scale)" if sweep.log_scale else ""))
    ax.set_ylabel(f"validation {metric}" + (" (%)" if unit else ""))
    ax.set_title(f"Sweep over {sweep.field}", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    values = ", ".join(f"{v:g}" if v else "0" for v, _ in sweep.points)
    return FigureSpec(
        id=f"fig-sweep-{sweep.field.replace('_', '-')}",
        title=f"Sweep: validation {metric} vs {sweep.field}",
        alt=f"Sweep plot: validation {metric} against {sweep.field} "
            f"({'log' if sweep.log_scale else 'linear'} axis) for values {values}; "
            f"best at {sweep.field}={best[0] or 0:g}",
        caption=f"Final validation {metric} (mean and 95% CI over seeds) for each value of "
                f"{sweep.field}" + ("; the dashed line and grey band are the arm without it "
                                    "(mean, 95% CI)." if ref else "."),
        png=figure_png(fig),
    )


def _sliced_sweep_figure(field: str, slices: Sequence[tuple[str, Sweep]]) -> FigureSpec:
    fig = new_figure(6.5, 4.2)
    ax = fig.subplots()
    first = slices[0][1]
    metric, scale, unit, sign = _metric_words(first.points[0][1])
    log = first.log_scale
    if log:
        ax.set_xscale("log")
    values = sorted({float(v) for _, sl in slices for v, _ in sl.points if v})
    zero_at = values[0] / 2 if log and values else 0.0  # 0 on a log axis: drawn left of the grid
    for i, (label, sl) in enumerate(slices):
        xs = [float(v) if v else zero_at for v, _ in sl.points]
        _errorbar(ax, xs, [s.val for _, s in sl.points], _color(i), label, scale=scale)
    every = [(v, s) for _, sl in slices for v, s in sl.points]
    best = Q.select_best(every, lambda p: p[1].val[0], higher_is_better=sign > 0) or every[0]
    ax.set_xlabel(field + (" (log scale; 0 drawn at the left)" if log else ""))
    ax.set_ylabel(f"validation {metric}" + (" (%)" if unit else ""))
    ax.set_title(f"Sweep over {field}: one line per setting of the other fields", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return FigureSpec(
        id=f"fig-sweep-{field.replace('_', '-')}",
        title=f"Sweep: validation {metric} vs {field}",
        alt=f"Sweep plot: validation {metric} against {field}, one line per slice ("
            + "; ".join(label for label, _ in slices) + f"); best at {best[1].arm}",
        caption=f"Final validation {metric} (mean and 95% CI over seeds) for each value of {field}, "
                "one line per setting of the other swept fields (every slice is drawn).",
        png=figure_png(fig),
    )


def heatmap_figure(summaries: Sequence[ArmSummary], rows: str, cols: str) -> FigureSpec | None:
    """The validation metric over a two-field grid (mean over seeds), the best cell (chosen on
    validation) outlined; None unless every row and column of the grid holds two arms or more."""
    def value(s: ArmSummary, name: str) -> float:
        reg = dict(s.regularization)
        v = {**(reg.pop("custom", None) or {}), **reg}.get(name)
        return 0.0 if v is None else float(v)

    cells = {(value(s, rows), value(s, cols)): s for s in summaries}
    ys, xs = sorted({r for r, _ in cells}), sorted({c for _, c in cells})
    if (len(ys) < 2 or len(xs) < 2 or any(sum((r, c) in cells for c in xs) < 2 for r in ys)
            or any(sum((r, c) in cells for r in ys) < 2 for c in xs)):
        return None  # not a grid: the arms differ in both fields at once (a stack)
    metric, scale, unit, sign = _metric_words(summaries[0])
    grid = [[cells[(r, c)].val[0] * scale if (r, c) in cells else math.nan for c in xs] for r in ys]
    fig = new_figure(1.2 * len(xs) + 2.5, 0.8 * len(ys) + 1.8)
    ax = fig.subplots()
    image = ax.imshow(grid, cmap="viridis" if sign > 0 else "viridis_r", aspect="auto")
    best = Q.select_best(list(cells.values()), lambda s: s.val[0], higher_is_better=sign > 0)
    for i, r in enumerate(ys):
        for j, c in enumerate(xs):
            s = cells.get((r, c))
            if s is None:
                ax.text(j, i, "not run", ha="center", va="center", fontsize=7, color="0.5")
                continue
            text = f"{grid[i][j]:.1f}" if unit else f"{grid[i][j]:.3g}"
            finite = [v for row in grid for v in row if not math.isnan(v)]
            mid = (max(finite) + min(finite)) / 2
            bright = (grid[i][j] > mid) == (sign > 0)  # viridis is bright at its high end
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="black" if bright else "white", fontweight="bold" if s is best else None)
            if s is best:
                ax.add_patch(_rectangle(j, i))
    ax.set_xticks(range(len(xs)), [f"{c:g}" for c in xs], fontsize=8)
    ax.set_yticks(range(len(ys)), [f"{r:g}" for r in ys], fontsize=8)
    ax.set_xlabel(cols)
    ax.set_ylabel(rows)
    fig.colorbar(image, ax=ax, label=f"validation {metric}" + (" (%)" if unit else ""))
    ax.set_title(f"Validation {metric} over {rows} x {cols} (mean over seeds)", fontsize=10)
    where = "" if best is None else f"; best (on validation) at {rows}={value(best, rows):g}, {cols}={value(best, cols):g}"
    return FigureSpec(
        id=f"fig-heatmap-{rows.replace('_', '-')}-{cols.replace('_', '-')}",
        title=f"Grid: validation {metric} over {rows} and {cols}",
        alt=f"Heatmap of validation {metric} over {rows} ({', '.join(f'{r:g}' for r in ys)}) and {cols} "
            f"({', '.join(f'{c:g}' for c in xs)}){where}",
        caption=f"Final validation {metric}, mean over seeds, for each pair of values; the outlined "
                "cell is the best on validation (its test score is in the table).",
        png=figure_png(fig),
    )


def _rectangle(j: int, i: int) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2)


def _grid_fields(summaries: Sequence[ArmSummary]) -> tuple[str, str] | None:
    """The two sweepable fields when exactly two vary over the arms."""
    from reglab.techniques import sweep_fields

    def flat(s: ArmSummary) -> dict[str, Any]:
        reg = dict(s.regularization)
        return {**(reg.pop("custom", None) or {}), **reg}

    varying = [f for f in sweep_fields() if len({repr(flat(s).get(f)) for s in summaries}) > 1]
    others = {k for s in summaries for k in flat(s)} - set(varying)
    if len(varying) != 2 or any(len({repr(flat(s).get(k)) for s in summaries}) > 1 for k in others):
        return None
    return varying[0], varying[1]


def dropout_ablation(sweep: Sweep) -> FigureSpec:
    """Test accuracy (or loss) and the gap vs the dropout rate (linear axis, rate 0 included)."""
    fig = new_figure(9.0, 3.6)
    ax1, ax2 = fig.subplots(1, 2)
    metric, scale, unit, sign = _metric_words(sweep.points[0][1])
    xs = [float(v or 0.0) for v, _ in sweep.points]
    _errorbar(ax1, xs, [s.val for _, s in sweep.points], _color(0), f"validation {metric}",
              scale=scale)
    _errorbar(ax1, xs, [s.test for _, s in sweep.points], _color(1), f"test {metric}",
              scale=scale)
    _errorbar(ax2, xs, [s.gap for _, s in sweep.points], _color(3), "gap", scale=scale)
    ax1.set_xlabel("dropout rate")
    ax1.set_ylabel(metric + (" (%)" if unit else ""))
    ax2.set_xlabel("dropout rate")
    ax2.set_ylabel("train - val accuracy (points)" if metric == "accuracy"
                   else "val - train loss")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Dropout-rate ablation (mean and 95% CI over seeds)", fontsize=10)
    best = Q.select_best(sweep.points, lambda p: p[1].val[0], higher_is_better=sign > 0)
    best_text = "" if best is None else (f"; best validation {metric} at rate "
                                         f"{float(best[0] or 0):g}")
    return FigureSpec(
        id="fig-dropout-ablation",
        title="Dropout-rate ablation",
        alt=f"Dropout-rate ablation: validation and test {metric} and train-validation gap "
            f"against the dropout rate for rates {', '.join(f'{x:g}' for x in xs)}{best_text}",
        caption=f"Validation and test {metric} (left; the rate is chosen on validation) and "
                "train-validation gap of the final weights (right) for each dropout rate, all "
                "other settings equal.",
        png=figure_png(fig),
    )


def _hist_arms(summaries: Sequence[ArmSummary]) -> list[tuple[ArmSummary, dict[str, Any], str]]:
    chosen: list[tuple[ArmSummary, dict[str, Any], str]] = []

    def hist_of(s: ArmSummary) -> dict[str, Any] | None:
        for r in s.runs:
            h = r.final.get("weight_hist")
            if isinstance(h, dict) and h.get("counts") and h.get("edges"):
                return h
        return None

    def strongest(field: str) -> ArmSummary | None:
        cands = [s for s in summaries if (s.regularization.get(field) or 0) > 0 and hist_of(s)]
        return max(cands, key=lambda s: s.regularization[field]) if cands else None

    base = next((s for s in summaries if s.is_baseline and hist_of(s)), None)
    if base is not None:
        chosen.append((base, hist_of(base), "baseline"))
    l1 = strongest("l1")
    if l1 is not None:
        chosen.append((l1, hist_of(l1), f"L1 {l1.regularization['l1']:g}"))
    l2 = strongest("weight_decay") or strongest("l2")
    if l2 is not None:
        field = "weight_decay" if (l2.regularization.get("weight_decay") or 0) > 0 else "l2"
        label = "weight decay" if field == "weight_decay" else "L2"
        chosen.append((l2, hist_of(l2), f"{label} {l2.regularization[field]:g}"))
    return chosen


def weight_histograms(summaries: Sequence[ArmSummary]) -> FigureSpec | None:
    """Histograms from ``final["weight_hist"]`` (first seed of each chosen arm)."""
    chosen = _hist_arms(summaries)
    if len(chosen) < 2:
        return None
    fig = new_figure(7.0, 4.0)
    ax = fig.subplots()
    colors = {"baseline": "0.4"}
    descr = []
    for i, (s, h, label) in enumerate(chosen):
        edges, counts = h["edges"], h["counts"]
        total = max(1, sum(counts))
        widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
        density = [c / total / w if w > 0 else 0.0 for c, w in zip(counts, widths)]
        nz = 100 * float(h.get("near_zero", 0.0))
        ax.stairs(density, edges, color=colors.get(label, _color(i + 1)), linewidth=1.5,
                  label=(f"{s.arm}" if s.arm == label else f"{s.arm} [{label}]") + f" (|w|<1e-3: {nz:.0f}%, mean |w| "
                        f"{float(h.get('abs_mean', math.nan)):.3f})")
        descr.append(f"{s.arm} ({label}, {nz:.0f}% near zero)")
    ax.set_yscale("log")
    ax.set_xlabel("weight value")
    ax.set_ylabel("density (log scale)")
    has_l1 = any(label.startswith("L1") for _, _, label in chosen)
    title = "L1 sparsity vs L2 shrinkage" if has_l1 and len(chosen) > 2 else (
        "L1 sparsity" if has_l1 else "shrinkage by L2 / weight decay")
    ax.set_title(f"Final weights: {title}", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return FigureSpec(
        id="fig-weight-hist",
        title=f"Weight histograms: {title}",
        alt="Weight histograms of the final weights: " + "; ".join(descr),
        caption=("Distribution of the final weights (dim >= 2). "
                + ("L1 piles weights at exactly zero (sparsity). " if has_l1 else "")
                + ("L2 / weight decay shrinks all weights toward zero without zeroing them."
                   if len(chosen) > 2 or not has_l1 else "")).strip(),
        png=figure_png(fig),
    )


def build_figures(summaries: Sequence[ArmSummary]) -> list[FigureSpec]:
    """Every figure the runs support, in report order."""
    figs: list[FigureSpec | None] = [learning_curves(summaries), gap_curves(summaries)]
    grid = _grid_fields(summaries)
    if grid is not None:
        figs.append(heatmap_figure(summaries, *grid))
    for sweep in find_sweeps(summaries):
        slices = sweep_slices(summaries, sweep.field)
        if sweep.field == "dropout" and len(slices) <= 1:
            figs.append(dropout_ablation(sweep))
        else:
            figs.append(sweep_figure(sweep, slices))
    figs.append(weight_histograms(summaries))
    return [f for f in figs if f is not None]
