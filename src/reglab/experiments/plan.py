"""Plans: a study or sweep config becomes the exact list of run specs to train.

Order: seeds outermost, so the first len(arms) runs already compare every arm once; within a
seed, arms (or grid points) in the order given. Every spec's :meth:`RunSpec.key` is unique in a
plan; a plan that would train the same spec twice is refused.
"""

from __future__ import annotations

import json
from typing import Any

from reglab.errors import ConfigError, invalid_argument
from reglab.experiments.config import (
    StudyConfig,
    SweepConfig,
    base_spec_dict,
    resolve_field,
    set_path,
    validate_spec,
)
from reglab.experiments.spec import DistillationSpec, RunSpec
from reglab.models.user import is_user_model
from reglab.techniques import apply_arm_spec, study_arms

__all__ = ["plan", "plan_study", "plan_sweep", "grid_arm_name"]


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data))


def plan_study(config: StudyConfig) -> list[RunSpec]:
    """``len(arms) * seeds`` specs: each arm applied to the config's base, for each seed (an arm
    of scope ``"run"``, such as ``teacher``, may also set the spec's model and epochs)."""
    base = base_spec_dict(config)
    dataset = config.data.name
    arms = study_arms(config.arms, config.model.name, dataset)
    if "all" in config.arms and _task(config) == "regression":  # "all" = every arm the task can run
        from reglab.experiments.regression import CLASSIFICATION_ONLY
        from reglab.techniques import parse_arm

        arms = [a for a in arms if a in config.arms or parse_arm(a)[0].field not in CLASSIFICATION_ONLY]
    # What the distillation family's arms start from: the study's [distillation] table, else the
    # base regularization's own distillation table, else DistillationSpec's defaults (the same run
    # specs, and keys, as the arm's value written alone).
    settings = config.distillation
    if settings is None and base["regularization"].get("distillation") is None:
        settings = DistillationSpec()
    distillation = None if settings is None else settings.model_dump(mode="json")
    templates: list[dict[str, Any]] = []
    for arm in arms:
        spec = _copy(base)
        spec["arm"] = arm
        spec = apply_arm_spec(spec, arm, user_model=is_user_model(config.model.name), distillation=distillation)
        templates.append(spec)
    return _cross_seeds(templates, config.seed_list)


def _task(config: StudyConfig) -> str:
    """The task of the config's data (its splits are read once and cached for the runs)."""
    from reglab.experiments.execute import load_splits

    return load_splits(config.data).info.task


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def grid_arm_name(point: dict[str, Any]) -> str:
    """``{"dropout": 0.25, "weight_decay": 1e-05}`` -> ``"dropout=0.25,weight_decay=1e-05"``."""
    return ",".join(f"{key}={_format_value(value)}" for key, value in point.items())


def plan_sweep(config: SweepConfig) -> list[RunSpec]:
    """``prod(len(values)) * seeds`` specs: every grid combination, for each seed."""
    base = base_spec_dict(config)
    paths = {key: resolve_field(key, root="spec", argument="grid") for key in config.grid}
    templates = []
    for point in config.grid_points():
        spec = _copy(base)
        spec["arm"] = grid_arm_name(point)
        for key, value in point.items():
            set_path(spec, paths[key], value)
        templates.append(spec)
    return _cross_seeds(templates, config.seed_list)


def _check_augment(spec: RunSpec) -> None:
    """Refuse an augmentation policy the dataset cannot take (another modality, a label-changing
    flip) before anything trains; datasets reglab does not ship are checked when they load."""
    if spec.regularization.augment == "none":
        return
    from reglab.augment import resolve_policy
    from reglab.data.registry import DATASETS

    source = DATASETS.get(spec.data.name)
    if source is not None:
        resolve_policy(spec.regularization.augment, source.name, tuple(source.input_shape))


def _cross_seeds(templates: list[dict[str, Any]], seeds: list[int]) -> list[RunSpec]:
    specs: list[RunSpec] = []
    seen: dict[str, str] = {}
    for seed in seeds:
        for template in templates:
            data = _copy(template)
            data["seed"] = seed
            spec = validate_spec(data)
            if seed == seeds[0]:
                _check_augment(spec)
            key = spec.key()
            if key in seen:
                raise ConfigError(
                    invalid_argument(
                        "arms", "arms that differ in at least one setting", spec.arm,
                        shown=f"{spec.arm!r} trains the same runs as {seen[key]!r}",
                    )
                )
            seen[key] = spec.arm
            specs.append(spec)
    return specs


def plan(config: StudyConfig | SweepConfig) -> list[RunSpec]:
    """The run specs of a study or a sweep (more than ``bounds.MAX_RUNS`` are refused before any
    spec is built)."""
    from reglab.experiments.bounds import check_run_count

    check_run_count(config)
    return plan_sweep(config) if isinstance(config, SweepConfig) else plan_study(config)
