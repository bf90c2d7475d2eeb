"""Study arms: ``"dropout"`` or ``"dropout=0.5"`` names a technique at a value.

A study compares a baseline with every technique alone at its starting value and a recommended
stack. An arm edits the ``regularization`` section of a run spec (a plain dict) through its
technique's ``write``, so the resulting run spec stays a plain, serializable value. An arm whose
technique has ``scope="run"`` (``teacher``, ``born_again``) edits the whole run spec dict, model
included (:func:`apply_arm_spec`).
"""

from __future__ import annotations

import json
from typing import Any

from reglab._policy_names import DATASET_AUGMENTATION
from reglab._validate import format_choices
from reglab.errors import ConfigError, invalid_argument
from reglab.techniques.registry import get_technique, write_arm
from reglab.techniques.technique import Technique

__all__ = [
    "RESIDUAL_MODELS", "DEFAULT_ARMS", "ALL_ARMS", "parse_number", "parse_arm", "expand_arms", "apply_arm",
    "apply_arm_spec", "has_augmentation", "study_arms",
]

#: Models with residual blocks, the only ones that accept ``drop_path`` (docs/contracts.md).
RESIDUAL_MODELS = ("resnet", "transformer")

#: ``reglab study`` with no arguments compares these.
DEFAULT_ARMS = ("baseline", "dropout", "weight_decay", "early_stopping", "augment", "stack")

#: What the arm ``all`` expands to (drop_path only on residual models, cutmix only on images).
ALL_ARMS = (
    "baseline",
    "dropout",
    "weight_decay",
    "l1",
    "early_stopping",
    "label_smoothing",
    "mixup",
    "input_noise",
    "augment",
    "max_norm",
    "drop_path",
    "stack",
)


def parse_number(text: str) -> Any:
    """``text`` as an int, else a float, else the string unchanged."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_arm(arm: str) -> tuple[Technique, Any]:
    """``"dropout"`` -> (dropout, 0.2); ``"dropout=0.5"`` -> (dropout, 0.5), the value checked
    against the technique's range (``ConfigError`` naming the arm otherwise)."""
    name, sep, raw = arm.partition("=")
    technique = get_technique(name.strip())
    if not sep:
        return technique, technique.default
    if technique.default is None:
        raise ConfigError(
            invalid_argument("arms", f"the technique {technique.name!r} without a value", arm)
        )
    if not raw.strip():
        raise ConfigError(invalid_argument("arms", f"a value after '{name.strip()}='", arm))
    value = parse_number(raw.strip())
    if technique.range is not None and not technique.range.contains(value):
        raise ConfigError(invalid_argument(
            "arms", f"{technique.range.expected()} after '{name.strip()}='", arm))
    if technique.choices is not None and value not in technique.choices:
        raise ConfigError(invalid_argument(
            "arms", f"one of {', '.join(map(repr, technique.choices))} after '{name.strip()}='", arm))
    return technique, value


def _canonical(arm: str) -> str:
    name, sep, raw = arm.partition("=")
    return get_technique(name.strip()).name + (f"={raw.strip()}" if sep else "")


def expand_arms(arms: list[str] | tuple[str, ...], model: str) -> list[str]:
    """Replace ``all`` by :data:`ALL_ARMS` (minus drop_path on non-residual models) and aliases by
    the technique's name; keep order, drop repeats."""
    out: list[str] = []
    for arm in arms:
        if arm == "all":
            names = [a for a in ALL_ARMS if a != "drop_path" or model in RESIDUAL_MODELS]
        else:
            names = [_canonical(arm)]
        for name in names:
            if name not in out:
                out.append(name)
    return out


def apply_arm(regularization: dict[str, Any], arm: str, model: str, *, user_model: bool = False,
              dataset: str | None = None) -> dict[str, Any]:
    """A copy of ``regularization`` with ``arm`` applied (``stack`` adds DropPath on residual models
    and, on a ``dataset`` with an augmentation policy, is the augmented stack).

    ``user_model``: the model is the user's (an import string or a registered factory); whether it
    has residual blocks is checked when it is built (``reglab.retrofit``: "no residual blocks found").
    """
    technique, value = parse_arm(arm)
    if technique.scope == "run":
        raise ConfigError(invalid_argument(
            "arms", "an arm that edits only the regularization (apply_arm_spec applies whole-run arms)", arm))
    _check_requires(technique, model, user_model)
    reg = dict(regularization)
    write_arm(reg, technique, value)
    if technique.name == "stack" and model in RESIDUAL_MODELS:
        write_arm(reg, get_technique("drop_path"), 0.1)
    if technique.name == "stack" and dataset is not None and has_augmentation(dataset):
        _stack_augmented(reg, regularization)
    return reg


def apply_arm_spec(spec: dict[str, Any], arm: str, *, user_model: bool = False,
                   distillation: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of the run spec dict ``spec`` with ``arm`` applied.

    An arm of scope ``"regularization"`` edits ``spec["regularization"]`` as :func:`apply_arm`
    does; one of scope ``"run"`` (``teacher``, ``born_again``) edits the whole spec (its
    ``model``, ``epochs`` and ``regularization``). ``distillation``: the settings the arms sharing
    the ``distillation`` field start from (teacher model, temperature, alpha, teachers,
    teacher_epochs: a study's ``[distillation]`` table); the arm's value is written over them.
    """
    technique, value = parse_arm(arm)
    out = json.loads(json.dumps(spec))
    reg = out.setdefault("regularization", {})
    if technique.field == "distillation" and distillation is not None:
        reg["distillation"] = json.loads(json.dumps(distillation))
    if technique.scope == "run" and technique.edit is not None:  # a run-scope technique has one
        technique.edit(out, value)
        _check_requires(technique, out["model"]["name"], user_model)
        return out
    out["regularization"] = apply_arm(reg, arm, out["model"]["name"], user_model=user_model,
                                      dataset=out.get("data", {}).get("name"))
    return out


def _check_requires(technique: Technique, model: str, user_model: bool) -> None:
    if technique.requires == "residual" and model not in RESIDUAL_MODELS and not user_model:
        raise ConfigError(
            invalid_argument(
                "arms",
                f"a model with residual blocks ({format_choices(RESIDUAL_MODELS)}) for {technique.name!r}",
                model,
                shown=f"model={model!r}",
            )
        )
def _stack_augmented(reg: dict[str, Any], base: dict[str, Any]) -> None:
    """The stack on data with an augmentation policy: augmentation + mixup 0.2 + weight decay 0.05
    + early stopping, the base's dropout kept (``techniques.catalog`` has the measurements)."""
    write_arm(reg, get_technique("augment"), "auto")
    write_arm(reg, get_technique("mixup"), 0.2)
    reg["dropout"] = base.get("dropout", 0.0)


def study_arms(arms: list[str] | tuple[str, ...], model: str, dataset: str) -> list[str]:
    """The arms a study of ``dataset`` trains: :func:`expand_arms`, less ``augment`` where it came
    from the defaults or ``all`` and the dataset has no augmentation policy (tabular data)."""
    out = expand_arms(arms, model)
    if not has_augmentation(dataset) and (list(arms) == list(DEFAULT_ARMS) or "all" in arms):
        out = [a for a in out if a != "augment"]
    return out


def has_augmentation(dataset: str) -> bool:
    """Whether ``augment=auto`` means something for ``dataset`` (the built-in signal and image sets)."""
    return dataset in DATASET_AUGMENTATION
