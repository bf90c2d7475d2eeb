"""The :class:`Technique` record, the valid :class:`Range` of its value and the :class:`TrainContext`
its ``apply`` hook edits.

A technique is one definition holding everything reglab knows about a regularizer: its name and
aliases, the ``RegularizationSpec`` field it sets, its starting value and valid range, the paper it
comes from, what it acts on, whether the batched (vectorized) engine runs it, how a study arm
writes it into a run spec (``edit``) and how a training run applies it (``apply``).

``execute.train`` builds a :class:`TrainContext` and calls the ``apply`` hook of every technique
whose field is set in the run spec, stage by stage in the order of :data:`STAGES` (within a stage,
in catalogue order); the stage of a technique is the first entry of its ``acts_on``:

=============  ==================================================================================
``model``      before the model is built: edit ``ctx.model_options`` (passed to the model factory)
               or queue ``ctx.edit_model(fn)`` (``fn(model) -> model``, applied right after the build)
``batch``      after it is built: ``ctx.add_batch_transform(fn)`` or wrap ``ctx.model``
``optimizer``  set ``ctx.weight_decay`` (decoupled, on ``penalties.param_groups``)
``loss``       replace ``ctx.loss_fn``, append to ``ctx.penalties``, set ``ctx.teacher``
``loop``       append to ``ctx.callbacks``, set ``ctx.clip_grad_norm`` / ``ctx.max_norm``
=============  ==================================================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

from reglab.errors import invalid_argument

__all__ = ["STAGES", "SCOPES", "Range", "SearchRange", "Technique", "TrainContext"]

#: What a technique acts on, in the order ``execute.train`` applies them.
STAGES = ("model", "batch", "optimizer", "loss", "loop")

#: What a technique's ``edit`` receives: the run spec's regularization dict, or the whole run spec dict.
SCOPES = ("regularization", "run")


def _fmt(value: float) -> str:
    return repr(value) if not float(value).is_integer() else str(int(value))


@dataclass(frozen=True)
class Range:
    """Valid values of a technique's value: ``[low, high)`` by default; ``integer`` for counts.

    ``high=None`` is unbounded; infinities and NaN are always rejected.
    """

    low: float | None = 0.0
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = False
    integer: bool = False

    def expected(self) -> str:
        """The phrase of the error message: ``"a finite number in [0, 1)"``."""
        if self.integer:
            if self.high is None:
                return f"an integer >= {int(self.low)}" if self.low is not None else "an integer"
            return f"an integer in [{int(self.low or 0)}, {int(self.high)}]"
        lo = "(-inf" if self.low is None else ("[" if self.low_inclusive else "(") + _fmt(self.low)
        hi = "inf)" if self.high is None else _fmt(self.high) + ("]" if self.high_inclusive else ")")
        return f"a finite number in {lo}, {hi}"

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, Integral if self.integer else Real):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (not self.low_inclusive and value == self.low)):
            return False
        return not (self.high is not None and (value > self.high or (not self.high_inclusive and value == self.high)))


@dataclass(frozen=True)
class SearchRange:
    """Where ``reglab tune`` searches a technique's value: ``[low, high]``, sampled uniformly, or
    log-uniformly when ``log`` (strengths spanning decades), or as an integer when ``integer``.

    Both bounds must lie in the technique's valid :class:`Range` (checked by :class:`Technique`).
    """

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low >= self.high:
            raise ValueError(invalid_argument("tune", "finite bounds with low < high",
                                              (self.low, self.high)))
        if self.log and self.low <= 0:
            raise ValueError(invalid_argument("tune", "low > 0 for a log-scale search", self.low))

    def describe(self) -> str:
        """``"[1e-05, 1] log"``: the text of listings and reports."""
        return f"[{_fmt(self.low)}, {_fmt(self.high)}]" + (" log" if self.log else "") + (" int" if self.integer else "")


@dataclass
class TrainContext:
    """What ``execute.train`` assembles before it builds the Trainer; ``apply`` hooks edit it.

    Attributes:
        spec: the run spec (``RunSpec``); ``spec.regularization`` holds every technique's field.
        info: the dataset's ``DatasetInfo`` (``task``, ``num_classes``, ``input_shape`` ...).
        splits: the run's ``reglab.data`` splits (``x_train`` ...; the augmentation hook reads it).
        device: torch device.
        train_teachers: ``train_teachers()`` trains (or reuses) the run's distillation teachers
            without touching the global RNG and returns them in eval mode.
        model_options: keyword options of the model factory (``model`` stage).
        model_edits: ``fn(model) -> model`` functions applied in order right after the build
            (queued by :meth:`edit_model` at the ``model`` stage).
        model: the built model (from the ``batch`` stage on).
        weight_decay: decoupled weight decay of the optimizer (0: none).
        loss_fn: the training loss (cross-entropy, MSE for regression, until a hook replaces it).
        eval_loss_fn: the validation loss the Trainer reports (None: ``loss_fn``).
        batch_transform: a ``(x, y) -> (x, y)`` transform of each training batch.
        penalties: terms added to the loss (``penalties.Penalty``).
        callbacks: Trainer callbacks.
        teacher: the teacher model (or list of models) for a distillation loss.
        clip_grad_norm: clip the gradient norm to this (None: no clipping).
        max_norm: per-unit max-norm constraint (None: none).
    """

    spec: Any
    info: Any
    splits: Any = None
    device: str = "cpu"
    train_teachers: Callable[[], list[Any]] | None = None
    model_options: dict[str, Any] = field(default_factory=dict)
    model_edits: list[Callable[[Any], Any]] = field(default_factory=list)
    model: Any = None
    weight_decay: float = 0.0
    loss_fn: Any = None
    eval_loss_fn: Any = None
    batch_transform: Any = None
    penalties: list[Any] = field(default_factory=list)
    callbacks: list[Any] = field(default_factory=list)
    teacher: Any = None
    clip_grad_norm: float | None = None
    max_norm: float | None = None

    def edit_model(self, fn: Callable[[Any], Any]) -> None:
        """Queue ``fn(model) -> model`` to run right after the model is built (``model`` stage)."""
        self.model_edits.append(fn)

    def add_batch_transform(self, fn: Callable[..., Any]) -> None:
        """Apply ``fn(x, y[, generator=]) -> (x, y)`` to each training batch, after those added
        before it (one transform stays itself; several become a ``reglab.augment.Pipeline``, which
        passes the Trainer's generator to the parts that take one)."""
        from reglab.augment import Pipeline

        if self.batch_transform is None:
            self.batch_transform = fn
        elif isinstance(self.batch_transform, Pipeline):
            self.batch_transform = Pipeline([*self.batch_transform.transforms, fn])
        else:
            self.batch_transform = Pipeline([self.batch_transform, fn])


@dataclass(frozen=True)
class Technique:
    """One regularization technique (or a composite arm: ``baseline``, ``stack``).

    Attributes:
        name: the one name used by study arms, ``reglab techniques`` and reports.
        description: one line for ``reglab techniques`` and ``reglab study --list-techniques``.
        paper: the citation (authors, year, venue, arXiv id); "" for composite arms.
        acts_on: what it changes, a subset of :data:`STAGES`; the first entry is the stage at which
            ``apply`` runs. Empty for composite arms.
        field: the ``RegularizationSpec`` field it sets (None for composite arms). Several
            techniques may share a field (the distillation variants); exactly one of them (the
            one with ``apply``) applies it at train time.
        default: the arm's starting value (None: the arm takes no value).
        off: the field's value when the technique is not used (the spec's default: 0.0 or None).
        range: valid arm values (None: the arm takes no value, unless ``choices``).
        choices: the valid values of a technique whose value is a name (``augment``'s policies).
        aliases: other names accepted for the arm (``reglab.get`` module names among them).
        modules: the ``reglab.get`` names of the modules that implement it.
        vectorized: whether the batched engine (``experiments.vectorized``) trains it.
        requires: ``"residual"`` (a model with residual blocks) or ``"images"`` (image inputs).
        sweepable: a scalar field a sweep grid (``--grid field=...``) may vary.
        log_scale: its sweeps span decades (plotted on a log axis).
        shown_key: for a nested field (a table), the key always shown in settings text.
        edit: ``edit(regularization_dict, value)`` writes the arm into a run spec's regularization
            (None: ``regularization[field] = value``, or ``regularization["custom"][field]`` for a
            field outside the catalogue's). With ``scope="run"`` it is ``edit(run_spec_dict, value)``.
        scope: what ``edit`` receives: ``"regularization"`` (the run spec's regularization dict,
            the default: the arm changes only the regularization) or ``"run"`` (the whole run spec
            dict, a plain value, for arms that also set the ``model`` or ``epochs``: the
            ``teacher`` and ``born_again`` arms of a distillation study).
        apply: ``apply(ctx, field_value)`` applies the field of a run spec at train time
            (:class:`TrainContext`); called when the field differs from ``off``.
        label: ``label(field_value, spec)`` names a set value in messages (None: ``field=value``).
        tune: where ``reglab tune`` searches the value (:class:`SearchRange`; None: not tunable).
    """

    name: str
    description: str
    paper: str = ""
    acts_on: tuple[str, ...] = ()
    field: str | None = None
    default: Any = None
    off: Any = 0.0
    range: Range | None = None
    choices: tuple[str, ...] | None = None
    aliases: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    vectorized: bool = True
    requires: str | None = None
    sweepable: bool = False
    log_scale: bool = False
    shown_key: str | None = None
    edit: Callable[[dict[str, Any], Any], None] | None = None
    apply: Callable[[TrainContext, Any], None] | None = None
    label: Callable[[Any, Any], str] | None = None
    tune: SearchRange | None = None
    scope: str = "regularization"

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(invalid_argument("scope", f"one of {', '.join(map(repr, SCOPES))}", self.scope))
        if self.scope == "run" and self.edit is None:
            raise ValueError(invalid_argument("edit", "an edit(run_spec_dict, value) function for scope 'run'",
                                              None))
        unknown = [s for s in self.acts_on if s not in STAGES]
        if unknown:
            raise ValueError(invalid_argument("acts_on", f"stages among {', '.join(map(repr, STAGES))}", self.acts_on))
        if self.apply is not None and not self.acts_on:
            raise ValueError(invalid_argument("acts_on", "at least one stage for a technique with `apply`", self.acts_on))
        if self.default is not None and (self.range is not None or self.choices is not None):
            self.validate(self.default)
        if self.tune is not None:
            if self.range is None:
                raise ValueError(invalid_argument("tune", "no search range for a technique that takes no value", self.tune))
            for bound in (self.tune.low, self.tune.high):
                value = int(bound) if self.range.integer else bound
                if not self.range.contains(value):
                    raise ValueError(invalid_argument("tune", f"bounds in {self.range.expected()}", bound,
                                                      shown=f"tune={self.tune.describe()} for {self.name!r}"))

    @property
    def stage(self) -> str | None:
        """The stage at which ``apply`` runs (the first of ``acts_on``)."""
        return self.acts_on[0] if self.acts_on else None

    def validate(self, value: Any) -> Any:
        """``value`` if it is in :attr:`range` (or among :attr:`choices`); else ``ValueError``
        naming the technique."""
        if self.choices is not None:
            if value not in self.choices:
                raise ValueError(invalid_argument(self.name, f"one of {', '.join(map(repr, self.choices))}", value))
            return value
        if self.range is None:
            raise ValueError(invalid_argument(self.name, "no value (the technique takes none)", value))
        if not self.range.contains(value):
            raise ValueError(invalid_argument(self.name, self.range.expected(), value))
        return int(value) if self.range.integer else value

    def is_set(self, value: Any) -> bool:
        """Whether a spec's field value means the technique is in use."""
        return value is not None and value != self.off

    def describe(self, value: Any, spec: Any = None) -> str:
        """How a set value is named in messages: ``"cutmix_alpha=1.0"``."""
        return self.label(value, spec) if self.label is not None else f"{self.field}={value!r}"
