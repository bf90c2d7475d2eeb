"""Per-arm summaries across seeds and the effect of each arm against the baseline.

For each arm (runs sharing ``spec.arm``) :func:`summarize_arms` reports the mean test accuracy
and mean train-val gap with their 95% Student t intervals (:func:`reglab.analysis.stats.mean_ci`)
and the effect on test accuracy against the baseline arm with Welch's t interval for the
difference of means (:func:`reglab.analysis.stats.diff_ci`). :func:`find_sweeps` finds the
regularization fields that vary over arms with everything else held fixed (a sweep or an
ablation), for the sweep and dropout-ablation figures.

Runs are "StoredRun-like": objects (or mappings) with ``spec`` (a ``RunSpec`` or its dict),
``final`` (dict with ``test_acc``, ``train_acc``, ``val_acc``, ``gap``), ``history``
(``History.to_dict()``) and ``diagnosis`` (``Diagnosis.to_dict()`` or None). Runs without a
``final["test_acc"]`` (failed or unfinished) are left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reglab.analysis.diagnosis import VERDICTS, diagnose
from reglab.analysis.stats import diff_ci, mean_ci
from reglab.errors import ReglabError, invalid_argument
from reglab.techniques import log_scale_fields, spec_fields, sweep_fields, technique_for_field

__all__ = ["RunView", "ArmSummary", "Sweep", "summarize_arms", "find_sweeps", "as_run_views",
           "regularization_setting"]


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


@dataclass(frozen=True)
class RunView:
    """One completed run, normalised: the spec as a plain dict plus its metrics."""

    key: str
    spec: dict[str, Any]
    history: dict[str, Any]
    final: dict[str, Any]
    diagnosis: dict[str, Any]

    @property
    def arm(self) -> str:
        return str(self.spec.get("arm", "baseline"))

    @property
    def seed(self) -> int:
        return int(self.spec.get("seed", 0))

    @property
    def regularization(self) -> dict[str, Any]:
        return dict(self.spec.get("regularization") or {})

    @property
    def gap(self) -> float:
        """Final train-val accuracy gap (``train_acc - val_acc``; ``final["gap"]`` otherwise)."""
        tr, va = self.final.get("train_acc"), self.final.get("val_acc")
        if tr is not None and va is not None:
            return float(tr) - float(va)
        g = self.final.get("gap")
        return math.nan if g is None else float(g)


def as_run_views(runs: Iterable[Any]) -> list[RunView]:
    """Normalise StoredRun-like runs; leaves out runs without a final test accuracy or loss."""
    views = []
    for run in runs:
        final = dict(_get(run, "final") or {})
        if final.get("test_acc") is None and final.get("test_loss") is None:
            continue
        spec = _get(run, "spec")
        if spec is None:
            raise ReglabError("A run has no spec. Expected StoredRun-like runs with `spec`, "
                              "`final`, `history`. Received: a run without `spec`")
        spec_d = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)
        history = dict(_get(run, "history") or {})
        diag = _get(run, "diagnosis")
        if diag is None:
            if history.get("val_loss"):
                diag = diagnose(history, num_classes=final.get("num_classes")).to_dict()
            else:
                diag = {}
        key = _get(run, "key") or (spec.key() if hasattr(spec, "key") else "")
        views.append(RunView(key=str(key), spec=spec_d, history=history, final=final,
                             diagnosis=dict(diag)))
    return views


def regularization_setting(reg: Mapping[str, Any], task: str = "classification") -> str:
    """The regularization fields set (different from their technique's ``off`` value), in the
    technique catalogue's order, as ``"dropout=0.2, weight_decay=0.05"``; a nested field (a table)
    shows its technique's ``shown_key`` and every key that differs from the spec's default. On a
    regression ``task`` early stopping shows the monitor the run uses
    (``reglab.techniques.catalog.early_stopping_monitor``: val_loss, mode min)."""
    from reglab.experiments.spec import DistillationSpec, EarlyStoppingSpec
    from reglab.techniques.catalog import early_stopping_monitor

    nested = {"early_stopping": EarlyStoppingSpec().model_dump(mode="json"),
              "distillation": DistillationSpec().model_dump(mode="json")}
    parts = []
    custom = reg.get("custom") or {}
    for name in spec_fields():
        technique = technique_for_field(name)
        value = reg.get(name, custom.get(name, technique.off))
        if not technique.is_set(value):
            continue
        if isinstance(value, Mapping):
            inner_defaults, always = nested.get(name, {}), {technique.shown_key}
            if name == "early_stopping" and "monitor" in value:
                monitor, mode = early_stopping_monitor(value["monitor"], value.get("mode", "min"), task)
                if (monitor, mode) != (value["monitor"], value.get("mode")):  # translated: say so
                    value, always = {**value, "monitor": monitor, "mode": mode}, always | {"monitor", "mode"}
            inner = ", ".join(
                f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in value.items()
                if not isinstance(v, Mapping) and (k in always or inner_defaults.get(k) != v))
            parts.append(f"{name}({inner})")
        else:
            parts.append(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}")
    return ", ".join(parts) if parts else "none"


_NAN3 = (math.nan, math.nan, math.nan)


@dataclass
class ArmSummary:
    """One arm across its seeds. Intervals are ``(mean, low, high)``; bounds nan with one seed.

    ``metric`` is ``"accuracy"`` (classification: ``test``/``val`` are accuracies, fractions),
    ``"rmse"`` (regression: ``test``/``val`` are root mean squared errors on the target's original
    scale, lower is better; ``log_likelihood`` the mean per-example test log-likelihood) or
    ``"loss"`` (regression runs stored without an RMSE: the final losses, lower is better).
    ``effect`` is ``(mean test metric of the arm - mean of the baseline, low, high)`` (0.031 =
    +3.1 accuracy points; for RMSE a negative effect is an improvement), Welch's interval; None
    for the baseline itself or without a baseline.
    ``gap`` is train - val accuracy (classification) or val - train loss (regression).
    """

    arm: str
    setting: str
    regularization: dict[str, Any]
    n: int
    seeds: list[int]
    test: tuple[float, float, float]
    val: tuple[float, float, float]
    gap: tuple[float, float, float]
    effect: tuple[float, float, float] | None
    verdicts: dict[str, int]
    is_baseline: bool = False
    metric: str = "accuracy"
    runs: list[RunView] = field(default_factory=list, repr=False)
    log_likelihood: tuple[float, float, float] = _NAN3

    @property
    def test_acc(self) -> tuple[float, float, float]:
        """``test`` for classification; nan for regression."""
        return self.test if self.metric == "accuracy" else _NAN3

    @property
    def val_acc(self) -> tuple[float, float, float]:
        return self.val if self.metric == "accuracy" else _NAN3

    @property
    def higher_is_better(self) -> bool:
        return self.metric == "accuracy"

    @property
    def effect_excludes_zero(self) -> bool | None:
        """True/False when the effect's interval is defined; None otherwise."""
        if self.effect is None or math.isnan(self.effect[1]):
            return None
        return self.effect[1] > 0 or self.effect[2] < 0

    @property
    def significantly_better(self) -> bool | None:
        """True (better) / False (worse) when the effect's interval excludes zero; else None."""
        if not self.effect_excludes_zero:
            return None
        return (self.effect[0] > 0) == self.higher_is_better

    def verdict_text(self) -> str:
        """``"3 overfitting, 2 good fit"`` (most frequent first)."""
        items = sorted(((c, v) for v, c in self.verdicts.items() if c), key=lambda x: (-x[0], x[1]))
        return ", ".join(f"{c} {v}" for c, v in items) if items else "n/a"


def _pick_baseline(groups: dict[str, list[RunView]], baseline: str | None) -> str | None:
    if baseline is not None:
        if baseline not in groups:
            raise ValueError(invalid_argument(
                "baseline", "one of " + ", ".join(repr(a) for a in groups), baseline))
        return baseline
    if "baseline" in groups:
        return "baseline"
    from reglab.experiments.spec import RegularizationSpec

    defaults = RegularizationSpec().model_dump(mode="json")
    for arm, views in groups.items():
        if views[0].regularization == defaults:
            return arm
    return None


def summarize_arms(
    runs: Iterable[Any], baseline: str | None = None, confidence: float = 0.95
) -> list[ArmSummary]:
    """Summarise each arm across seeds; the baseline first, then arms in order of appearance.

    Args:
        runs: StoredRun-like runs (see the module docstring).
        baseline: the reference arm's name; it must exist. Defaults to None: the arm named
            ``"baseline"``, else the arm whose regularization is all defaults; without one,
            effects are None.
        confidence: coverage of every interval. Defaults to 0.95.

    Raises:
        ReglabError: no completed run.
        ValueError: ``baseline`` names no arm.
    """
    views = as_run_views(runs)
    if not views:
        raise ReglabError("No completed runs to summarise. Expected at least one run with a "
                          "final test accuracy or loss. Received: 0 completed runs")
    # Classification when every run has a test accuracy; otherwise (regression) the test RMSE,
    # or the test loss for runs stored before RMSE was recorded.
    if all(v.final.get("test_acc") is not None for v in views):
        metric = "accuracy"
    elif all(v.final.get("test_rmse") is not None for v in views):
        metric = "rmse"
    else:
        metric = "loss"
    key = {"accuracy": "acc", "rmse": "rmse", "loss": "loss"}[metric]
    views = [v for v in views if v.final.get(f"test_{key}") is not None]
    groups: dict[str, list[RunView]] = {}
    for v in views:
        groups.setdefault(v.arm, []).append(v)
    for arm in groups:
        groups[arm].sort(key=lambda v: v.seed)
    ref = _pick_baseline(groups, baseline)
    order = ([ref] if ref else []) + [a for a in groups if a != ref]
    ref_acc = [float(v.final[f"test_{key}"]) for v in groups[ref]] if ref else None
    out = []
    for arm in order:
        g = groups[arm]
        acc = [float(v.final[f"test_{key}"]) for v in g]
        val = [float(v.final[f"val_{key}"]) for v in g if v.final.get(f"val_{key}") is not None]
        gaps = [v.gap for v in g if not math.isnan(v.gap)]
        verdicts = {name: 0 for name in VERDICTS}
        for v in g:
            verdict = v.diagnosis.get("verdict")
            if verdict in verdicts:
                verdicts[verdict] += 1
        lls = [float(v.final["test_ll"]) for v in g if v.final.get("test_ll") is not None]
        effect = None
        if ref_acc is not None and arm != ref:
            effect = diff_ci(acc, ref_acc, confidence)
        out.append(ArmSummary(
            arm=arm,
            setting=regularization_setting(g[0].regularization,
                                           "classification" if metric == "accuracy" else "regression"),
            regularization=g[0].regularization,
            n=len(g),
            seeds=[v.seed for v in g],
            test=mean_ci(acc, confidence),
            val=mean_ci(val, confidence) if val else _NAN3,
            gap=mean_ci(gaps, confidence) if gaps else _NAN3,
            effect=effect,
            verdicts=verdicts,
            is_baseline=(arm == ref),
            metric=metric,
            runs=g,
            log_likelihood=mean_ci(lls, confidence) if lls else _NAN3,
        ))
    return out


@dataclass(frozen=True)
class Sweep:
    """Arms that differ from a common setting in one field only, ordered by that field's value.

    ``points`` pairs each value with its arm; the reference arm (all other fields equal, this
    field at its default) is included when present, with its default value (0 or None).
    """

    field: str
    points: list[tuple[float | None, ArmSummary]]

    @property
    def log_scale(self) -> bool:
        return self.field in log_scale_fields()


def find_sweeps(summaries: Sequence[ArmSummary]) -> list[Sweep]:
    """The sweeps/ablations among the arms: for each sweepable technique field
    (``reglab.techniques.sweep_fields()``), the largest group of arms whose regularization is
    identical apart from that field, when it holds at least two distinct values. Ordered as the
    technique catalogue.
    """
    def flat(s: ArmSummary) -> dict[str, Any]:  # custom techniques' fields beside the built-in ones
        reg = dict(s.regularization)
        return {**(reg.pop("custom", None) or {}), **reg}

    sweeps = []
    for name in sweep_fields():
        groups: dict[str, list[ArmSummary]] = {}
        for s in summaries:
            rest = {k: v for k, v in flat(s).items() if k != name}
            groups.setdefault(repr(sorted(rest.items())), []).append(s)
        best: list[ArmSummary] = []
        for members in groups.values():
            values = {flat(m).get(name) for m in members}
            if len(values) >= 2 and len(members) > len(best):
                best = members
        if best:
            def order(s: ArmSummary) -> float:
                v = flat(s).get(name)
                return -math.inf if v is None else float(v)

            pts = [(flat(s).get(name), s) for s in sorted(best, key=order)]
            sweeps.append(Sweep(field=name, points=pts))
    return sweeps
