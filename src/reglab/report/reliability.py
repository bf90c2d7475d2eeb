"""Reliability diagrams and the uncertainty report (``reglab uncertainty``).

* :func:`reliability_diagram` - accuracy against confidence per equal-width bin for one or more
  predictors (eval mode vs MC dropout), the diagonal of perfect calibration, the gap shaded, and
  the share of examples per bin underneath (DeGroot & Fienberg 1983; Niculescu-Mizil & Caruana
  2005, ICML; Guo et al. 2017, ICML, arXiv:1706.04599).
* :func:`uncertain_inputs_figure` - the most uncertain inputs: images drawn as images, 1-D
  signals (MNIST-1D) as curves; None for tabular inputs (they are listed in the table instead).
* :func:`write_uncertainty_report` - ``uncertainty.html`` (self-contained: inline CSS, PNGs as
  data URIs), ``uncertainty.md`` and ``figures/<id>.png``.

Figures come back as :class:`reglab.report.figures.FigureSpec`, like the study report's.
"""

from __future__ import annotations

import base64
import html
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reglab.errors import ReglabError, invalid_argument
from reglab.report.figures import FigureSpec, figure_png, new_figure
from reglab.report.files import write_atomic

__all__ = ["reliability_diagram", "uncertain_inputs_figure", "write_uncertainty_report", "uncertainty_rows"]

_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")


def _bins_dict(bins: Any) -> dict[str, Any]:
    data = bins.to_dict() if hasattr(bins, "to_dict") else dict(bins)
    for key in ("edges", "counts", "accuracy", "confidence", "ece", "n"):
        if key not in data:
            raise ValueError(invalid_argument("bins", "ReliabilityBins (or its to_dict())", bins,
                                              shown=f"bins without {key!r}"))
    return data


def reliability_diagram(bins: Mapping[str, Any], *, title: str = "Reliability diagram") -> FigureSpec:
    """One reliability panel per predictor, with the confidence histogram below each.

    Args:
        bins: ``{label: ReliabilityBins}`` (or their ``to_dict()``), e.g. ``{"deterministic":
            ..., "MC dropout (T=30)": ...}``; all with the same edges.
        title: the figure's title. Defaults to ``"Reliability diagram"``.

    Returns:
        ``FigureSpec`` with id ``fig-reliability``.
    """
    if not isinstance(bins, Mapping) or not bins:
        raise ValueError(invalid_argument("bins", "a non-empty mapping of label -> ReliabilityBins", bins))
    items = [(str(label), _bins_dict(b)) for label, b in bins.items()]
    cols = len(items)
    fig = new_figure(4.2 * cols, 5.0)
    grid = fig.add_gridspec(2, cols, height_ratios=(3, 1))
    descr = []
    for i, (label, b) in enumerate(items):
        ax = fig.add_subplot(grid[0, i])
        hx = fig.add_subplot(grid[1, i], sharex=ax)
        edges = b["edges"]
        lefts, widths = edges[:-1], [hi - lo for lo, hi in zip(edges[:-1], edges[1:])]
        acc = [0.0 if math.isnan(a) else a for a in b["accuracy"]]
        conf = [(lo + hi) / 2 if math.isnan(c) else c for c, lo, hi in zip(b["confidence"], edges[:-1], edges[1:])]
        ax.bar(lefts, acc, width=widths, align="edge", color=_COLORS[i % len(_COLORS)], edgecolor="black",
               linewidth=0.5, label="accuracy")
        gap_low = [min(a, c) for a, c in zip(acc, conf)]
        gap_h = [abs(a - c) if n else 0.0 for a, c, n in zip(acc, conf, b["counts"])]
        ax.bar(lefts, gap_h, bottom=gap_low, width=widths, align="edge", color="#d62728", alpha=0.3,
               edgecolor="#d62728", linewidth=0.5, hatch="//", label="gap to confidence")
        ax.plot([0, 1], [0, 1], color="0.3", linestyle="--", linewidth=1, label="perfect calibration")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_ylabel("accuracy in bin")
        ax.set_title(f"{label}: ECE {100 * b['ece']:.2f}%", fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
        ax.grid(alpha=0.3)
        n = max(1, int(b["n"]))
        hx.bar(lefts, [c / n for c in b["counts"]], width=widths, align="edge", color="0.5")
        hx.set_xlabel("confidence (max probability)")
        hx.set_ylabel("share")
        hx.grid(alpha=0.3)
        descr.append(f"{label} ECE {100 * b['ece']:.2f}%")
    fig.suptitle(title, fontsize=11)
    n_bins = len(items[0][1]["counts"])
    return FigureSpec(
        id="fig-reliability",
        title=title,
        alt=f"Reliability diagram with {n_bins} equal-width confidence bins: " + "; ".join(descr),
        caption=f"Accuracy per confidence bin ({n_bins} equal-width bins) against the diagonal of "
                "perfect calibration; the hatched red bars are the gap between accuracy and mean "
                "confidence (bars below the diagonal: overconfident). Below: share of examples per "
                "bin. ECE is the count-weighted mean gap (Guo et al. 2017).",
        png=figure_png(fig),
    )


def _label(names: Sequence[str] | None, k: int) -> str:
    return str(names[k]) if names and 0 <= k < len(names) else str(k)


def uncertain_inputs_figure(inputs: Any, rows: Sequence[Mapping[str, Any]], input_shape: Sequence[int], *,
                            class_names: Sequence[str] | None = None) -> FigureSpec | None:
    """The most uncertain inputs, most uncertain first, titled with label, prediction and scores.

    Args:
        inputs: ``(k, *input_shape)`` tensor or array of the inputs.
        rows: ``k`` dicts with ``index, label, prediction, confidence, mutual_information`` (as in
            ``UncertaintyResult.uncertain``).
        input_shape: ``(C, H, W)`` images (C = 1 or 3) are drawn as images, ``(L,)`` with L >= 8 as
            curves; anything else (tabular) returns None.
        class_names: names of the classes. Defaults to None (indices).
    """
    import numpy as np

    shape = tuple(int(s) for s in input_shape)
    image = len(shape) == 3 and shape[0] in (1, 3)
    signal = len(shape) == 1 and shape[0] >= 8
    if not rows or not (image or signal):
        return None
    data = np.asarray(inputs.detach().cpu() if hasattr(inputs, "detach") else inputs, dtype=float)
    k = len(rows)
    cols = min(5, k)
    nrows = math.ceil(k / cols)
    fig = new_figure(2.6 * cols, 2.3 * nrows)
    axes = fig.subplots(nrows, cols, squeeze=False)
    for j, row in enumerate(rows):
        ax = axes[j // cols][j % cols]
        x = data[j]
        if image:
            img = x[0] if shape[0] == 1 else np.transpose(x, (1, 2, 0))
            if shape[0] == 3:
                img = (img - img.min()) / max(1e-12, float(img.max() - img.min()))
            ax.imshow(img, cmap="gray" if shape[0] == 1 else None)
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            ax.plot(x, color=_COLORS[0], linewidth=1.2)
            ax.set_xticks([])
            ax.tick_params(labelsize=6)
        mark = "" if row["label"] == row["prediction"] else " x"
        ax.set_title(f"#{row['index']}: y={_label(class_names, row['label'])}, "
                     f"pred={_label(class_names, row['prediction'])}{mark}\n"
                     f"conf {row['confidence']:.2f}, MI {row['mutual_information']:.3f}", fontsize=7)
    for j in range(k, nrows * cols):
        axes[j // cols][j % cols].set_visible(False)
    kind = "images" if image else "signals"
    wrong = sum(1 for r in rows if r["label"] != r["prediction"])
    return FigureSpec(
        id="fig-uncertain-inputs",
        title="Most uncertain test inputs",
        alt=f"The {k} most uncertain test {kind} under MC dropout, {wrong} of them misclassified",
        caption="The test inputs with the highest MC-dropout uncertainty, most uncertain first; "
                "titles give the index, true label, MC prediction (x: wrong), mean confidence and "
                "mutual information (BALD, nats).",
        png=figure_png(fig),
    )


def uncertainty_rows(result: Any) -> list[tuple[str, str, str, str]]:
    """``(metric, deterministic, MC dropout, difference)`` rows of an ``UncertaintyResult``."""
    d, m = result.deterministic, result.mc
    rows = []
    for name, key, scale, unit, digits in (("accuracy", "accuracy", 100, "%", 1), ("ECE", "ece", 100, "%", 2),
                                           ("NLL (nats)", "nll", 1, "", 3), ("Brier", "brier", 1, "", 3)):
        a, b = scale * getattr(d, key), scale * getattr(m, key)
        rows.append((name, f"{a:.{digits}f}{unit}", f"{b:.{digits}f}{unit}", f"{b - a:+.{digits}f}{unit}"))
    return rows


def _uncertain_table(result: Any) -> list[tuple[str, ...]]:
    names = result.class_names
    return [(str(r["index"]), _label(names, r["label"]), _label(names, r["prediction"]),
             f"{r['confidence']:.3f}", f"{r['entropy']:.3f}", f"{r['mutual_information']:.4f}")
            for r in result.uncertain]


def write_uncertainty_report(result: Any, out_dir: str | os.PathLike[str]) -> tuple[Path, Path, list[FigureSpec]]:
    """Write ``uncertainty.html``, ``uncertainty.md`` and ``figures/*.png`` for an ``UncertaintyResult``.

    Returns:
        ``(html_path, markdown_path, figures)``.
    """
    spec = result.spec
    label_mc = f"MC dropout (T={result.samples})"
    figs = [reliability_diagram({"deterministic (eval mode)": result.deterministic.bins, label_mc: result.mc.bins},
                                title=f"Reliability: {spec.arm}, seed {spec.seed}, {result.split} set")]
    inputs_fig = uncertain_inputs_figure(result.inputs, result.uncertain, result.input_shape,
                                         class_names=result.class_names)
    if inputs_fig is not None:
        figs.append(inputs_fig)
    title = f"reglab uncertainty: {spec.arm} (seed {spec.seed}) on {spec.data.name}"
    summary = (f"{spec.model.name} {dict(spec.model.options) or ''} with dropout {spec.regularization.dropout:g}, "
               f"{spec.epochs} epochs; {result.deterministic.n} {result.split} examples; MC dropout with "
               f"{result.samples} passes (seed {result.seed}); ECE with {len(result.mc.bins.counts)} bins.")
    rows = uncertainty_rows(result)
    unc = _uncertain_table(result)
    unc_head = ("index", "label", "MC prediction", "confidence", "entropy", "mutual information")
    esc = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{esc(title)}</title><style>body{{font-family:system-ui,sans-serif;max-width:1000px;"
             "margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:1em 0}"
             "th,td{border:1px solid #ccc;padding:.3em .6em}td.num{text-align:right}"
             "figure img{max-width:100%}figcaption{color:#555;font-size:.9em}</style></head><body>",
             f"<h1>{esc(title)}</h1>", f"<p>{esc(summary)}</p>",
             '<table id="uncertainty-metrics"><thead><tr><th>metric</th><th>deterministic</th>'
             f"<th>{esc(label_mc)}</th><th>MC - deterministic</th></tr></thead><tbody>"]
    parts += ["<tr>" + "".join(f'<td class="num">{esc(c)}</td>' if j else f"<td>{esc(c)}</td>"
                               for j, c in enumerate(r)) + "</tr>" for r in rows]
    parts.append("</tbody></table>")
    parts.append(f"<h2>Most uncertain {esc(result.split)} inputs (by {esc(result.rank_by)})</h2>")
    parts.append('<table id="uncertain-inputs"><thead><tr>' + "".join(f"<th>{esc(h)}</th>" for h in unc_head)
                 + "</tr></thead><tbody>" + "".join(
                     "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in unc) + "</tbody></table>")
    for fig in figs:
        data = base64.b64encode(fig.png).decode("ascii")
        parts.append(f'<figure id="{esc(fig.id)}"><h3>{esc(fig.title)}</h3><img alt="{esc(fig.alt)}" '
                     f'src="data:image/png;base64,{data}"><figcaption>{esc(fig.caption)}</figcaption></figure>')
    parts.append("</body></html>")
    md = [f"# {title}", "", summary, "", f"| metric | deterministic | {label_mc} | MC - deterministic |",
          "|---|---:|---:|---:|"]
    md += [f"| {' | '.join(r)} |" for r in rows]
    md += ["", f"## Most uncertain {result.split} inputs (by {result.rank_by})", "",
           "| " + " | ".join(unc_head) + " |", "|" + "---|" * len(unc_head)]
    md += [f"| {' | '.join(r)} |" for r in unc]
    md.append("")
    for fig in figs:
        md += [f"### {fig.title}", "", f"![{fig.alt}](figures/{fig.id}.png)", "", fig.caption, ""]
    out = Path(out_dir)
    try:
        (out / "figures").mkdir(parents=True, exist_ok=True)
        for fig in figs:
            write_atomic(out / "figures" / f"{fig.id}.png", fig.png)
        html_path, md_path = out / "uncertainty.html", out / "uncertainty.md"
        write_atomic(html_path, "\n".join(parts) + "\n")
        write_atomic(md_path, "\n".join(md).rstrip() + "\n")
    except OSError as exc:
        raise ReglabError(f"Cannot write the uncertainty report to {str(out)!r}: {exc.strerror}. Expected a "
                          f"writable directory. Received: --out {str(out)!r}") from None
    return html_path, md_path, figs
