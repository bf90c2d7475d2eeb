"""The short "what we found" paragraph at the top of every report."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from reglab.analysis.effects import ArmSummary

__all__ = ["findings", "setup_text"]


def _score(s: ArmSummary) -> str:
    """``"70.5% (95% CI 69.3 to 71.7, 3 seeds)"``; losses as ``"0.145 (95% CI ...)"``."""
    m, low, high = s.test
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


def findings(summaries: Sequence[ArmSummary]) -> str:
    """One paragraph naming the best arm, its effect vs the baseline and whether the effect's
    95% interval excludes zero, followed by the baseline's typical diagnosis.

    The best arm has the highest mean test accuracy (classification) or the lowest mean test
    RMSE (regression; the test loss for runs stored without an RMSE).
    """
    if not summaries:
        return "No completed runs."
    metric = summaries[0].metric
    what = {"accuracy": "test accuracy", "rmse": "test RMSE"}.get(metric, "test loss")
    sign = 1.0 if metric == "accuracy" else -1.0  # orient so that larger is better

    base = next((s for s in summaries if s.is_baseline), None)
    others = [s for s in summaries if not s.is_baseline]
    parts: list[str] = []
    if base is None:
        best = max(summaries, key=lambda s: sign * s.test[0])
        parts.append(f"The best arm is {_name(best)} with {what} {_score(best)}. There is no "
                     "baseline arm (named 'baseline' or without regularization), so no effects "
                     "were computed.")
    elif not others:
        parts.append(f"Only the baseline arm ran: {what} {_score(base)}.")
    else:
        best = max(others, key=lambda s: sign * s.test[0])
        d, low, high = best.effect if best.effect is not None else (math.nan,) * 3
        base_value = (f"{100 * base.test[0]:.1f}%" if metric == "accuracy"
                      else f"{base.test[0]:.3g}")
        if sign * d > 0:
            better = "over" if metric == "accuracy" else "vs"
            parts.append(f"The best arm is {_name(best)}: {what} {_score(best)}, "
                         f"{_diff(best, d)} {better} the baseline's {base_value}.")
        else:
            parts.append(f"No arm beat the baseline ({what} {_score(base)}); the closest is "
                         f"{_name(best)} at {_score(best).split(' (')[0]}, {_diff(best, d)}.")
        if math.isnan(low):
            parts.append("With a single seed on either side the interval of the difference is "
                         "undefined; run at least 3 seeds per arm to tell an effect from noise.")
        elif low > 0 or high < 0:
            parts.append(f"The 95% interval of the difference ({_range(best, low, high)}) "
                         f"excludes zero, so the "
                         f"{'improvement' if sign * d > 0 else 'loss'} is unlikely to be seed "
                         "noise.")
        else:
            parts.append(f"The 95% interval of the difference ({_range(best, low, high)}) "
                         "includes zero, so this study cannot tell it from the baseline; more "
                         "seeds would narrow it.")
    if metric == "rmse":
        parts.append("RMSE is in the target's units; lower is better.")
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
