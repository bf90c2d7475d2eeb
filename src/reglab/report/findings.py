"""The short "what we found" paragraph at the top of every report."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from reglab.analysis import quantities as Q
from reglab.analysis.effects import ArmSummary, find_sweeps

__all__ = ["findings", "setup_text", "grid_edge_notes"]


def _score(s: ArmSummary, stat: tuple[float, float, float] | None = None) -> str:
    """``"70.5% (95% CI 69.3 to 71.7, 3 seeds)"``; losses as ``"0.145 (95% CI ...)"``."""
    m, low, high = s.test if stat is None else stat
    seeds = f"{s.n} seed{'s' if s.n != 1 else ''}"
    fmt = (lambda x: f"{100 * x:.1f}") if s.metric == "accuracy" else (lambda x: f"{x:.3g}")
    unit = "%" if s.metric == "accuracy" else ""
    if math.isnan(low):
        return f"{fmt(m)}{unit} ({seeds}, no CI)"
    return f"{fmt(m)}{unit} (95% CI {fmt(low)} to {fmt(high)}, {seeds})"


def _diff(s: ArmSummary, x: float) -> str:
    return f"{100 * x:+.1f} points" if s.metric == "accuracy" else f"{x:+.2g}"


def _range(s: ArmSummary, low: float, high: float) -> str:
    if s.metric == "accuracy":
        return f"{100 * low:+.1f} to {100 * high:+.1f} points"
    return f"{low:+.2g} to {high:+.2g}"


def _name(s: ArmSummary) -> str:
    """The arm, with its setting when the name does not already say it."""
    return s.arm if s.setting in (s.arm, "none") else f"{s.arm} ({s.setting})"


def _p_text(s: ArmSummary, m: int) -> str:
    if math.isnan(s.p_holm):
        return ""
    p = "p < 0.001" if s.p_holm < 0.001 else f"p = {s.p_holm:.3f}"
    return f", {p} Holm-adjusted over {m} arms" if m > 1 else f", {p}"


def grid_edge_notes(summaries: Sequence[ArmSummary]) -> list[str]:
    """For each sweep whose best point (chosen on validation) is the largest or smallest value
    tried, one sentence saying so: the optimum may lie outside the grid."""
    notes = []
    for sweep in find_sweeps(summaries):
        higher = sweep.points[0][1].higher_is_better
        best = Q.select_best(sweep.points, lambda p: p[1].val[0], higher_is_better=higher)
        if best is None:
            continue
        edge = Q.grid_edge([v for v, _ in sweep.points], best[0])
        name = sweep.field.replace("_", " ")
        if edge == "largest":
            notes.append(f"Best at the largest {name} tried ({sweep.field}={best[0]:g}, chosen on "
                         "validation): extend the grid upward.")
        elif edge == "smallest" and best[0]:
            notes.append(f"Best at the smallest {name} tried ({sweep.field}={best[0]:g}, chosen on "
                         "validation): extend the grid downward.")
    return notes


def findings(summaries: Sequence[ArmSummary]) -> str:
    """One paragraph naming the best arm, chosen on validation, with its test score beside it,
    its effect vs the baseline and whether the effect is distinguishable from seed noise
    (paired interval, Holm-adjusted p-value), any best setting at the edge of its grid, and the
    baseline's typical diagnosis.

    The best arm has the highest mean validation accuracy (classification) or the lowest mean
    validation RMSE (regression; the validation loss for runs stored without an RMSE); the test
    score is only reported.
    """
    if not summaries:
        return "No completed runs."
    metric = summaries[0].metric
    what = {"accuracy": "test accuracy", "rmse": "test RMSE"}.get(metric, "test loss")
    val_what = {"accuracy": "validation accuracy", "rmse": "validation RMSE"}.get(metric, "validation loss")
    higher = metric == "accuracy"
    sign = 1.0 if higher else -1.0  # orient so that larger is better

    base = next((s for s in summaries if s.is_baseline), None)
    others = [s for s in summaries if not s.is_baseline]
    m = sum(1 for s in others if not math.isnan(s.p_value))
    parts: list[str] = []
    if base is None:
        best = Q.select_best(summaries, lambda s: s.val[0], higher_is_better=higher) or summaries[0]
        parts.append(f"The best arm on {val_what} is {_name(best)} ({_score(best, best.val)}); "
                     f"its {what} is {_score(best)}. There is no baseline arm (named 'baseline' "
                     "or without regularization), so no effects were computed.")
    elif not others:
        parts.append(f"Only the baseline arm ran: {what} {_score(base)}.")
    else:
        best = Q.select_best(others, lambda s: s.val[0], higher_is_better=higher) or others[0]
        d, low, high = best.effect if best.effect is not None else (math.nan,) * 3
        base_value = (f"{100 * base.test[0]:.1f}%" if metric == "accuracy"
                      else f"{base.test[0]:.3g}")
        chosen = (f"The best arm, chosen on {val_what} ({_score(best, best.val).split(' (')[0]} "
                  f"vs the baseline's {_score(base, base.val).split(' (')[0]}), is {_name(best)}")
        if sign * d > 0:
            better = "over" if metric == "accuracy" else "vs"
            parts.append(f"{chosen}: {what} {_score(best)}, {_diff(best, d)} {better} the "
                         f"baseline's {base_value}.")
        else:
            parts.append(f"{chosen}, but on test it does not beat the baseline ({what} "
                         f"{_score(best).split(' (')[0]} vs {base_value}, {_diff(best, d)}).")
        how = ("paired by seed" if best.effect_method == "paired"
               else "Welch, seeds differ between the arms")
        if math.isnan(low):
            parts.append("With a single seed on either side the interval of the difference is "
                         "undefined; run at least 3 seeds per arm to tell an effect from noise.")
        elif best.significantly_better is not None:
            parts.append(f"The 95% interval of the difference ({_range(best, low, high)}, "
                         f"{how}{_p_text(best, m)}) says the "
                         f"{'improvement' if best.significantly_better else 'loss'} is unlikely "
                         "to be seed noise.")
        else:
            parts.append(f"The 95% interval of the difference ({_range(best, low, high)}, "
                         f"{how}{_p_text(best, m)}) cannot tell it from the baseline; more "
                         "seeds would narrow it.")
    if metric == "rmse":
        parts.append("RMSE is in the target's units; lower is better.")
    parts += grid_edge_notes(summaries)
    ref = base or summaries[0]
    diag = next((r for r in ref.runs if r.diagnosis.get("sentence")), None)
    if diag is not None:
        parts.append(f"Diagnosis of the {ref.arm} ({ref.verdict_text()}), seed {diag.seed}: "
                     f"{diag.diagnosis['sentence']}")
    return " ".join(parts)


def setup_text(summaries: Sequence[ArmSummary]) -> str:
    """What was trained: ``"Data mnist1d (train_size=1000); model mlp; adamw lr 0.01; 40
    epochs, batch 100; seeds 0, 1, 2."`` A setting that differs between runs reads "varies"."""
    specs = [r.spec for s in summaries for r in s.runs]
    if not specs:
        return ""

    def common(get: Any) -> str:
        values = {repr(get(sp)) for sp in specs}
        return str(get(specs[0])) if len(values) == 1 else "varies"

    def opts(d: dict[str, Any]) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in d.items() if v not in (None, {}, 0.0))
        return f" ({inner})" if inner else ""

    data = common(lambda sp: sp["data"]["name"] + opts(
        {k: sp["data"].get(k) for k in ("train_size", "label_noise")}
        | dict(sp["data"].get("options") or {})))
    model = common(lambda sp: sp["model"]["name"] + opts(dict(sp["model"].get("options") or {})))
    opt = common(lambda sp: f"{sp['optimizer']['name']} lr {sp['optimizer']['lr']:g}")
    epochs = common(lambda sp: sp["epochs"])
    batch = common(lambda sp: sp["batch_size"])
    seeds = sorted({int(sp.get("seed", 0)) for sp in specs})
    epochs = "epochs vary" if epochs == "varies" else f"{epochs} epochs"
    opt = "optimizer varies" if opt == "varies" else opt
    text = (f"Data {data}; model {model}; {opt}; {epochs}, batch {batch}; "
            f"seeds {', '.join(str(x) for x in seeds)}.")
    # how the data was read and split (``DatasetInfo.notes``, stored by the runs), when shared
    notes = {tuple(getattr(r, "final", {}).get("data_notes") or ()) for s in summaries for r in s.runs}
    if len(notes) == 1 and (shared := next(iter(notes))):
        text += " Data: " + " ".join(n[:1].upper() + n[1:] for n in shared)
    return text
