"""Per-arm summaries across seeds and the effect of each arm against the baseline.

For each arm (runs sharing ``spec.arm``) :func:`summarize_arms` reports the mean validation and
test accuracy and mean train-val gap with their 95% Student t intervals
(:func:`reglab.analysis.stats.mean_ci`) and the effect on test accuracy against the baseline arm:
the paired t interval of the per-seed differences (arms sharing a seed share initial weights and
data order), Welch's interval where pairs are incomplete, and Holm-adjusted p-values across the
arms compared (:func:`paired_effect`). :func:`find_sweeps` finds the
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

from reglab.analysis import quantities as Q
from reglab.analysis.diagnosis import VERDICTS, diagnose
from reglab.analysis.stats import diff_ci, holm, mean_ci, paired_diff_ci, welch_p
from reglab.errors import ReglabError, invalid_argument
from reglab.techniques import log_scale_fields, spec_fields, sweep_fields, technique_for_field

__all__ = ["RunView", "ArmSummary", "Sweep", "summarize_arms", "find_sweeps", "as_run_views",
           "regularization_setting", "paired_effect", "sweep_slices"]


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
        """The run's train-val gap of the final weights (:func:`reglab.analysis.quantities.gap`)."""
        return Q.gap(self.final)


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
        # Diagnosed here from the history and the final metrics (one definition for every
        # reader); a stored diagnosis stands only for runs without a validation curve.
        diag = _get(run, "diagnosis") or {}
        if any(v is not None for v in history.get("val_loss") or []):
            diag = diagnose(history, final, num_classes=final.get("num_classes")).to_dict()
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


def _model_setting(model: Mapping[str, Any] | None) -> str:
    """``"model mlp(width=512, dropout=0.3)"``: the model of an arm whose model is not the baseline's."""
    model = model or {}
    options = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in (model.get("options") or {}).items())
    return f"model {model.get('name')}({options})"


_NAN3 = (math.nan, math.nan, math.nan)


@dataclass
class ArmSummary:
    """One arm across its seeds. Intervals are ``(mean, low, high)``; bounds nan with one seed.

    ``metric`` is ``"accuracy"`` (classification: ``test``/``val`` are accuracies, fractions),
    ``"rmse"`` (regression: ``test``/``val`` are root mean squared errors on the target's original
    scale, lower is better; ``log_likelihood`` the mean per-example test log-likelihood) or
    ``"loss"`` (regression runs stored without an RMSE: the final losses, lower is better).
    ``effect`` is ``(test metric of the arm - the baseline's, low, high)`` (0.031 = +3.1
    accuracy points; for RMSE a negative effect is an improvement): the paired t interval of the
    per-seed differences when both arms ran the same seeds (``effect_method == "paired"``), else
    Welch's interval of the difference of means (``"welch"``); None for the baseline itself or
    without a baseline. ``p_value`` is the test's two-sided p-value and ``p_holm`` the same after
    Holm's adjustment across all the arms compared with the baseline (equal to ``p_value`` with
    one comparison). ``gap`` is :func:`reglab.analysis.quantities.gap` of each run (eval mode,
    final weights).
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
    effect_method: str | None = None
    p_value: float = math.nan
    p_holm: float = math.nan
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
        """True (better) / False (worse) when the Holm-adjusted p-value is below 0.05 (the
        interval excludes zero when the arm is the only one compared); else None."""
        if self.effect is None or math.isnan(self.p_holm) or self.p_holm >= 0.05:
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
    for arm, views in groups.items():  # the arm that sets no technique (fields left out count as off)
        if regularization_setting(views[0].regularization) == "none":
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
        effect, method, p = None, None, math.nan
        if ref_acc is not None and arm != ref:
            effect, method, p = paired_effect(dict(zip((v.seed for v in g), acc)),
                                              dict(zip((v.seed for v in groups[ref]), ref_acc)),
                                              confidence)
        setting = regularization_setting(g[0].regularization,
                                         "classification" if metric == "accuracy" else "regression")
        model = g[0].spec.get("model")
        if ref and model != groups[ref][0].spec.get("model"):  # an arm that trains another model (teacher)
            setting = _model_setting(model) + ("" if setting == "none" else f", {setting}")
        out.append(ArmSummary(
            arm=arm,
            setting=setting,
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
            effect_method=method,
            p_value=p,
            runs=g,
            log_likelihood=mean_ci(lls, confidence) if lls else _NAN3,
        ))
    for s, adjusted in zip(out, holm([s.p_value for s in out])):
        s.p_holm = adjusted
    return out


def paired_effect(arm: Mapping[int, float], ref: Mapping[int, float], confidence: float = 0.95
                  ) -> tuple[tuple[float, float, float], str, float]:
    """The effect of an arm against the reference, from their values by seed.

    Paired (:func:`reglab.analysis.stats.paired_diff_ci`) when both ran the same seeds (one pair:
    the difference, interval undefined); otherwise (pairs incomplete) Welch's interval of the
    difference of means.

    Returns:
        ``((difference, low, high), "paired" | "welch", p_value)``.
    """
    if arm and set(arm) == set(ref):
        seeds = sorted(arm)
        d, low, high, p = paired_diff_ci([arm[k] for k in seeds], [ref[k] for k in seeds],
                                         confidence)
        return (d, low, high), "paired", p
    a, b = list(arm.values()), list(ref.values())
    return diff_ci(a, b, confidence), "welch", welch_p(a, b)


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


def _flat(s: ArmSummary) -> dict[str, Any]:
    """The arm's regularization with custom techniques' fields beside the built-in ones."""
    reg = dict(s.regularization)
    return {**(reg.pop("custom", None) or {}), **reg}


def sweep_slices(summaries: Sequence[ArmSummary], field: str) -> list[tuple[str, Sweep]]:
    """Every slice of a sweep over ``field``: for each setting of the other fields, the arms that
    differ only in ``field`` (at least two values), as ``(label, Sweep)``; ``label`` names the
    other fields that vary between slices (``"weight_decay=0.01"``), ``""`` for a single slice.
    Plotted as one line each, so no slice is dropped."""
    groups: dict[str, list[ArmSummary]] = {}
    rests: dict[str, dict[str, Any]] = {}
    for s in summaries:
        rest = {k: v for k, v in _flat(s).items() if k != field}
        key = repr(sorted(rest.items()))
        groups.setdefault(key, []).append(s)
        rests[key] = rest
    keys = [k for k, members in groups.items() if len({_flat(m).get(field) for m in members}) >= 2]
    varying = sorted({name for k in keys for name, v in rests[k].items()
                      if any(rests[o].get(name) != v for o in keys)})

    def order(s: ArmSummary) -> float:
        v = _flat(s).get(field)
        return -math.inf if v is None else float(v)

    out = []
    for k in keys:
        label = ", ".join(f"{n}={rests[k].get(n):g}" if isinstance(rests[k].get(n), float)
                          else f"{n}={rests[k].get(n)}" for n in varying)
        out.append((label, Sweep(field=field, points=[(_flat(s).get(field), s)
                                                      for s in sorted(groups[k], key=order)])))
    return out


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
