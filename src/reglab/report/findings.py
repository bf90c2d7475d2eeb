"""The short "what we found" paragraph at the top of every report."""

from __future__ import annotations

import math
from collections.abc import Sequence

from reglab.analysis.effects import ArmSummary

__all__ = ["findings"]


def _acc(s: ArmSummary) -> str:
    m, low, high = s.test_acc
    seeds = f"{s.n} seed{'s' if s.n != 1 else ''}"
    if math.isnan(low):
        return f"{100 * m:.1f}% ({seeds}, no CI)"
    return f"{100 * m:.1f}% (95% CI {100 * low:.1f} to {100 * high:.1f}, {seeds})"


def _name(s: ArmSummary) -> str:
    """The arm, with its setting when the name does not already say it."""
    return s.arm if s.setting in (s.arm, "none") else f"{s.arm} ({s.setting})"


def findings(summaries: Sequence[ArmSummary]) -> str:
    """One paragraph naming the best arm, its effect vs the baseline and whether the effect's
    95% interval excludes zero, followed by the baseline's typical diagnosis."""
    if not summaries:
        return "No completed runs."
    base = next((s for s in summaries if s.is_baseline), None)
    others = [s for s in summaries if not s.is_baseline]
    parts: list[str] = []
    if base is None:
        best = max(summaries, key=lambda s: s.test_acc[0])
        parts.append(f"The best arm is {_name(best)} with test accuracy "
                     f"{_acc(best)}. There is no baseline arm (named 'baseline' or without "
                     "regularization), so no effects were computed.")
    elif not others:
        parts.append(f"Only the baseline arm ran: test accuracy {_acc(base)}.")
    else:
        best = max(others, key=lambda s: s.test_acc[0])
        d, low, high = best.effect if best.effect is not None else (math.nan,) * 3
        if d > 0:
            parts.append(f"The best arm is {_name(best)}: test accuracy "
                         f"{_acc(best)}, {100 * d:+.1f} points over the baseline's "
                         f"{100 * base.test_acc[0]:.1f}%.")
        else:
            parts.append(f"No arm beat the baseline ({_acc(base)}); the closest is {_name(best)} "
                         f"at {100 * best.test_acc[0]:.1f}%, "
                         f"{100 * d:+.1f} points.")
        if math.isnan(low):
            parts.append("With a single seed on either side the interval of the difference is "
                         "undefined; run at least 3 seeds per arm to tell an effect from noise.")
        elif low > 0 or high < 0:
            parts.append(f"The 95% interval of the difference ({100 * low:+.1f} to "
                         f"{100 * high:+.1f} points) excludes zero, so the "
                         f"{'improvement' if d > 0 else 'loss'} is unlikely to be seed noise.")
        else:
            parts.append(f"The 95% interval of the difference ({100 * low:+.1f} to "
                         f"{100 * high:+.1f} points) includes zero, so this study cannot tell "
                         "it from the baseline; more seeds would narrow it.")
    ref = base or summaries[0]
    diag = next((r.diagnosis for r in ref.runs if r.diagnosis.get("sentence")), None)
    if diag is not None:
        parts.append(f"Diagnosis of the {ref.arm} ({ref.verdict_text()}), seed "
                     f"{next(r.seed for r in ref.runs if r.diagnosis is diag)}: "
                     f"{diag['sentence']}")
    return " ".join(parts)
