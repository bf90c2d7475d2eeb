"""Order a strategy by what a run store measured on the user's own data.

The effects are the analysis layer's (``reglab.analysis.effects.summarize_arms``: each arm's
effect on the test metric against the baseline, with its interval); nothing is recomputed here.
For each technique step, the measured arms of that technique are found (``parse_arm``) and the
one with the best validation score speaks for it:

- its interval lies above zero (it helped): the step moves to the front, at the measured value
  (a measured arm the recipe lacks joins it there);
- its interval contains zero: the step keeps its recipe place when the mean effect is positive,
  else it moves behind every unmeasured step, so it is not recommended first;
- its interval is at or below zero (it hurt): the step leaves the strategy for ``avoid``.

Every step with a measurement states it: ``measured: dropout=0.2 +3.1 points [+1.2, +5.0] over 3
seeds``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from reglab.analysis.recommend.problem import Step, technique_step
from reglab.errors import ConfigError
from reglab.techniques import get_technique, parse_arm

__all__ = ["apply_evidence", "evidence_text", "gain"]


def gain(summary: Any) -> tuple[float, float, float]:
    """The arm's effect as a gain (positive = better): accuracy effects as they are, loss effects
    (regression: lower is better) negated."""
    d, lo, hi = summary.effect
    return (d, lo, hi) if summary.higher_is_better else (-d, -hi, -lo)


def _arm_text(arm: str) -> str:
    """``"weight_decay"`` -> ``"weight_decay=0.1"`` (the value the arm ran at)."""
    found = _technique_of(arm)
    if found is None or found[1] is None:
        return arm
    name, value = found
    return f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}"


def evidence_text(summary: Any) -> str:
    """``"measured: dropout=0.2 +3.1 points [+1.2, +5.0] over 3 seeds"``."""
    d, lo, hi = summary.effect
    seeds = f"over {summary.n} seed{'s' if summary.n != 1 else ''}"
    if summary.higher_is_better:
        value = f"{100 * d:+.1f} points"
        interval = "" if math.isnan(lo) else f" [{100 * lo:+.1f}, {100 * hi:+.1f}]"
    else:
        value = f"test {'RMSE' if getattr(summary, 'metric', 'loss') == 'rmse' else 'loss'} {d:+.3g}"
        interval = "" if math.isnan(lo) else f" [{lo:+.3g}, {hi:+.3g}]"
    if not interval:
        seeds += " (no interval)"
    return f"measured: {_arm_text(summary.arm)} {value}{interval} {seeds}"


def _technique_of(arm: str) -> tuple[str, Any] | None:
    try:
        technique, value = parse_arm(arm)
    except ConfigError:
        return None
    return technique.name, value


def _score(summary: Any) -> float:
    val = summary.val[0]
    if not math.isnan(val):
        return val if summary.higher_is_better else -val
    return gain(summary)[0]


def apply_evidence(steps: list[Step], measured: Sequence[Any]) -> tuple[list[Step], list[str]]:
    """``(steps, avoid)``: ``steps`` reordered by ``measured`` (``ArmSummary`` records), with the
    measured arms the recipe lacks added in front when they helped, and the steps measured to
    hurt moved to ``avoid``."""
    by_technique: dict[str, list[Any]] = {}
    for s in measured:
        if s.is_baseline or s.effect is None:
            continue
        found = _technique_of(s.arm)
        if found is not None:
            by_technique.setdefault(found[0], []).append(s)
    tiered: list[tuple[int, int, Step]] = []
    avoid: list[str] = []
    for i, step in enumerate(steps):
        arms = by_technique.pop(step.technique, None) if step.is_technique else None
        if not arms:
            tiered.append((1, i, step))
            continue
        best = max(arms, key=_score)
        g, lo, hi = gain(best)
        text = evidence_text(best)
        if not math.isnan(lo) and hi <= 0:
            avoid.append(f"{step.technique}: {text}; the interval is at or below zero on your data.")
            continue
        if not math.isnan(lo) and lo > 0:
            value = _technique_of(best.arm)[1]
            new = technique_step(step.technique, value, step.reason, core=step.core)
            tiered.append((0, i, replace(new, source=step.source, evidence=text)))
        else:
            tiered.append((1 if g > 0 else 2, i, replace(step, evidence=text)))
    for k, (name, arms) in enumerate(by_technique.items(), start=len(steps)):
        best = max(arms, key=_score)
        _, lo, _ = gain(best)
        if math.isnan(lo) or lo <= 0:
            continue
        technique = get_technique(name)
        step = Step(name, {}, f"Not in this recipe, but it helped on your data: {best.arm} sets "
                    f"{best.setting}.", arm=best.arm,
                    source=technique.paper or "your run store (no published recipe)",
                    evidence=evidence_text(best))
        tiered.append((0, k, step))
    return [s for _, _, s in sorted(tiered, key=lambda t: t[:2])], avoid
