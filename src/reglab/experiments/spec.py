"""The run spec: one training run as a plain, validated, serializable value.

A study or sweep is a list of run specs (technique x value x seed). The same spec runs in the
Trainer, in a worker process, in the vectorized runner or on a Ray worker and gives the same
numbers for the same seed. ``RunSpec.model_validate(spec.to_dict()) == spec`` always holds, and
:meth:`RunSpec.key` is a stable identity used by the run store to skip completed runs on resume.

Unknown fields are rejected (``extra="forbid"``) so a typo in a TOML file or a ``--grid`` flag
fails with the list of allowed fields instead of being silently ignored.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator

from reglab._validate import format_choices
from reglab.errors import invalid_argument
from reglab.techniques import spec_fields, technique_for_field

__all__ = [
    "DataSpec",
    "ModelSpec",
    "OptimizerSpec",
    "EarlyStoppingSpec",
    "DistillationSpec",
    "RegularizationSpec",
    "RunSpec",
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


#: User-data options that a ``[data]`` table may also give at its top level (``target = "price"``
#: is kept as ``options = {target = "price"}``).
DATA_OPTION_KEYS = ("target", "image_size", "task", "test_fraction")


class DataSpec(_Spec):
    """Which dataset and which overfitting regime (see ``reglab.data.load``).

    ``name`` is a built-in dataset, a registered name, a path (``.npz``, ``.csv``, ``.parquet``,
    an image folder) or ``"package.module:loader"``; their options (``target``, ``image_size``,
    ``task``, ``test_fraction``) live in ``options`` so the spec stays plain and its key stable.
    """

    name: str = "mnist1d"
    seed: int = Field(default=0, ge=0)  # split, subsample and label-noise seed (same for every arm)
    train_size: int | None = Field(default=None, ge=1)  # None: all training samples
    label_noise: float = Field(default=0.0, ge=0.0, lt=1.0)  # fraction of train labels flipped
    val_fraction: float = Field(default=0.2, ge=0.0, lt=1.0)  # split from the training set
    options: dict[str, Any] = Field(default_factory=dict)  # dataset-specific (noise, n_samples ...)

    @model_validator(mode="before")
    @classmethod
    def _options_at_top(cls, value: Any) -> Any:
        if isinstance(value, dict) and any(k in value for k in DATA_OPTION_KEYS):
            value = dict(value)
            options = dict(value.get("options") or {})
            for key in DATA_OPTION_KEYS:
                if key in value:
                    options[key] = value.pop(key)
            value["options"] = options
        return value


class ModelSpec(_Spec):
    """Which model (see ``reglab.models.build``) and its options.

    ``name`` is a built-in model (``mlp``, ``cnn1d``, ...), an import string
    ``"package.module:factory"`` or a name registered with ``reglab.models.register`` (see
    ``reglab.models.user``); TOML may spell the import string ``factory = "..."``. ``output``
    names the entry of the model's output that holds the logits (None: the documented rule).
    """

    name: str = "mlp"
    options: dict[str, Any] = Field(default_factory=dict)
    output: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _factory_is_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and "factory" in data:
            data = dict(data)
            factory = data.pop("factory")
            if "name" in data and data["name"] != factory:
                raise ValueError(invalid_argument(
                    "model.factory", "either model.name or model.factory (they name the same thing)",
                    factory, shown=f"model.name={data['name']!r} and model.factory={factory!r}"))
            data["name"] = factory
        return data

    @model_serializer(mode="wrap")
    def _omit_default_output(self, handler: Any) -> Any:
        # ``output=None`` is left out, so the specs (and run keys) of models that need no output
        # rule stay what they were before the field existed.
        data = handler(self)
        if isinstance(data, dict) and data.get("output") is None:
            data.pop("output", None)
        return data


#: The learning-rate schedule fields and their defaults (left out of a spec's dict when default).
LR_SCHEDULE_DEFAULTS = {"schedule": "constant", "warmup_epochs": 0, "step_size": 30, "gamma": 0.1}


class OptimizerSpec(_Spec):
    """The optimizer and its learning-rate schedule (``reglab.training.schedules.lr_scheduler``:
    ``constant``, ``cosine`` with ``warmup_epochs`` of linear warm-up, ``step`` (times ``gamma``
    every ``step_size`` epochs) or ``onecycle``), stepped once per epoch."""

    name: Literal["adamw", "adam", "sgd"] = "adamw"
    lr: float = Field(default=1e-2, gt=0.0)
    momentum: float = Field(default=0.9, ge=0.0, lt=1.0)  # sgd only
    schedule: Literal["constant", "cosine", "step", "onecycle"] = "constant"
    warmup_epochs: int = Field(default=0, ge=0)  # cosine only
    step_size: int = Field(default=30, ge=1)  # step only
    gamma: float = Field(default=0.1, gt=0.0, le=1.0)  # step only

    @model_serializer(mode="wrap")
    def _omit_default_schedule(self, handler: Any) -> Any:
        # default schedule fields are left out, so the run keys of specs without a schedule stay
        # what they were before the fields existed (stored studies resume).
        data = handler(self)
        if isinstance(data, dict):
            for key, default in LR_SCHEDULE_DEFAULTS.items():
                if data.get(key) == default:
                    data.pop(key, None)
        return data


class EarlyStoppingSpec(_Spec):
    monitor: str = "val_loss"
    mode: Literal["min", "max"] = "min"
    patience: int = Field(default=10, ge=0)
    min_delta: float = Field(default=0.0, ge=0.0)
    restore_best: bool = True


class DistillationSpec(_Spec):
    """Knowledge distillation (Hinton et al. 2015) from teacher(s) trained with the same data.

    The default teacher is a 2 x 512 MLP with dropout 0.3: regularized, as Hinton et al.'s was. An
    unregularized teacher memorises the training set, its softened outputs there are nearly one-hot
    and the student gains nothing (measured on MNIST-1D: +0.2 points [-2.4, +2.8] vs +5.1
    [+1.1, +9.0] with the dropout teacher; see ``reglab.studies.distillation``).
    ``teacher=None`` is self-distillation: the teacher has the student's own architecture.
    """

    teacher: ModelSpec | None = Field(
        default_factory=lambda: ModelSpec(name="mlp", options={"width": 512, "dropout": 0.3})
    )
    teachers: int = Field(default=1, ge=1)  # > 1: ensemble distillation (averaged soft targets)
    temperature: float = Field(default=4.0, gt=0.0)
    alpha: float = Field(default=0.9, ge=0.0, le=1.0)  # weight of the soft (KD) term
    teacher_epochs: int | None = Field(default=None, ge=1)  # None: the run's epochs


class RegularizationSpec(_Spec):
    """Regularization strengths. All zero/None is the unregularized baseline.

    One field per technique of ``reglab.techniques`` (its ``field``, default ``off`` and range;
    a test checks they agree). ``custom`` holds the fields of techniques registered outside the
    catalogue (``register_technique``): field name -> value, checked against the technique's range.
    An empty ``custom`` is left out of ``to_dict()``, so run-spec keys do not depend on it.
    """

    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)  # passed to the model as `dropout`
    drop_path: float = Field(default=0.0, ge=0.0, lt=1.0)  # models with residual blocks
    weight_decay: float = Field(default=0.0, ge=0.0)  # decoupled (AdamW), bias/norm excluded
    l1: float = Field(default=0.0, ge=0.0)  # coefficient of the L1 penalty added to the loss
    l2: float = Field(default=0.0, ge=0.0)  # coefficient of the (coupled) L2 penalty
    label_smoothing: float = Field(default=0.0, ge=0.0, lt=1.0)
    augment: str = "none"  # a reglab.augment.policies name ("shift", "crop_flip", "auto" ...)
    mixup_alpha: float = Field(default=0.0, ge=0.0)
    cutmix_alpha: float = Field(default=0.0, ge=0.0)
    input_noise: float = Field(default=0.0, ge=0.0)  # std of Gaussian noise added to inputs
    max_norm: float | None = Field(default=None, gt=0.0)  # per-unit max-norm constraint c
    grad_clip: float | None = Field(default=None, gt=0.0)  # clip gradient norm to this
    early_stopping: EarlyStoppingSpec | None = None
    distillation: DistillationSpec | None = None
    custom: dict[str, Any] = Field(default_factory=dict)

    @field_validator("custom")
    @classmethod
    def _known_custom(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, v in value.items():
            technique = technique_for_field(name)
            if technique is None or name in cls.model_fields:
                known = [f for f in spec_fields() if f not in cls.model_fields]
                raise ValueError(invalid_argument(
                    "custom", f"fields of registered techniques ({format_choices(known) or 'none'})", name))
            if technique.range is not None:
                technique.validate(v)
        return value

    @model_serializer(mode="wrap")
    def _drop_empty_custom(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        if not data.get("custom"):
            data.pop("custom", None)
        return data

    @field_validator("augment", mode="before")
    @classmethod
    def _augment_none(cls, value: Any) -> Any:
        """``None`` (``--grid augment=shift,none`` parses ``none`` so) is the policy ``"none"``."""
        return "none" if value is None else value


class RunSpec(_Spec):
    """One training run. ``arm`` names the study arm it belongs to (``"baseline"``, ``"dropout"``).

    ``loss`` picks the regression loss: ``"mse"`` (one output) or ``"gaussian_nll"`` (the model
    outputs a mean and a log-variance; ``reglab.losses.gaussian_nll``). None (the default) is the
    task's own loss: cross-entropy for classification, MSE for regression. It is left out of
    :meth:`to_dict` when None, so the keys of specs stored before the field existed still match.
    """

    arm: str = "baseline"
    seed: int = Field(default=0, ge=0)
    epochs: int = Field(default=100, ge=1)
    batch_size: int = Field(default=100, ge=1, le=2**31 - 1)  # larger: an overflow, never a useful batch
    data: DataSpec = Field(default_factory=DataSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    regularization: RegularizationSpec = Field(default_factory=RegularizationSpec)
    loss: Literal["mse", "gaussian_nll"] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict; ``RunSpec.from_dict(s.to_dict()) == s``.

        ``loss`` (None) and ``regularization.augment`` (``"none"``) are left out at their defaults,
        so specs written before those fields existed keep their :meth:`key` and a stored study
        still resumes.
        """
        data = self.model_dump(mode="json")
        if data.get("loss") is None:
            data.pop("loss", None)
        if data["regularization"].get("augment") == "none":
            del data["regularization"]["augment"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        return cls.model_validate(data)

    def key(self) -> str:
        """Stable 16-hex-digit identity of the spec (sorted-key JSON, SHA-256)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
