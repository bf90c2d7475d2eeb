"""``run_one``: the single place where a :class:`RunSpec` becomes a training run.

The same spec gives the same numbers in the parent process, in a worker process or on another
machine: the model is initialised under ``torch.manual_seed(spec.seed)``, the Trainer draws its
shuffling and dropout randomness from ``spec.seed``, and the data split comes from
``spec.data.seed`` (the same for every arm, so arms are compared on the same examples).

Each regularization field is applied by its technique's ``apply`` hook (``reglab.techniques``),
stage by stage (model options, then the batch, the optimizer, the loss and the loop); this module
only builds the model, the optimizer and the Trainer from the :class:`~reglab.techniques.TrainContext`
the hooks edited. Distillation teachers are trained on demand (``ctx.train_teachers``), cached per
process, without touching the global RNG.

A user's model (``model.name`` an import string or a registered factory, see
``reglab.models.user``) is built by its factory, checked once on a probe batch of the training
inputs (output shape, logits rule), and retrofitted; the sentences saying what was done to it are
stored in ``final["retrofit"]``. A regression run has no accuracy, so the early-stopping arm's
monitor ``val_acc`` reads as ``val_loss`` (min) there.

Final metrics are measured on the weights the run ends with (the restored best weights under early
stopping), in eval mode, with the plain cross-entropy, so arms trained with different losses are
scored alike. Regression runs (``spec.loss``: ``"mse"`` by default, or ``"gaussian_nll"``) train on
standardised targets and report MSE, RMSE and log-likelihood on the original scale
(``reglab.experiments.regression``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from reglab.errors import invalid_argument
from reglab.experiments.regression import (
    check_regression_spec,
    regression_loss,
    regression_metrics,
    standardized,
)
from reglab.experiments.spec import DataSpec, ModelSpec, RunSpec
from reglab.techniques import STAGES, TECHNIQUES, TrainContext, field_value

__all__ = [
    "RunResult", "run_one", "train", "augmentation", "final_metrics", "load_splits", "preload_splits", "build_model", "evaluate_split",
]

_SPLITS: dict[str, Any] = {}
_TEACHERS: dict[str, list[nn.Module]] = {}


@dataclass
class RunResult:
    """The outcome of one run (docs/contracts.md).

    Attributes:
        spec: the run spec.
        history: ``History.to_dict()`` (epochs numbered from 1).
        final: metrics of the final weights: ``test_acc, test_loss, train_acc, train_loss,
            val_acc, val_loss, best_epoch, stopped_epoch`` (gaps are derived from these by
            ``reglab.analysis.quantities``, the one definition), ``n_params, num_classes, n_train, weight_hist`` (``analysis.weight_histogram``),
            ``data_notes`` (``DatasetInfo.notes``: how the data was read and split); for a user's
            model, ``retrofit``: the sentences saying how the arm was applied to it; regression
            runs add ``train_rmse, val_rmse, test_rmse, train_ll, val_ll, test_ll, sigma``
            (original scale; losses are MSE).
        seconds: wall-clock seconds of the whole run (data, teachers, training, evaluation).
    """

    spec: RunSpec
    history: dict[str, Any]
    final: dict[str, Any]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec.to_dict(), "history": self.history, "final": self.final, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        return cls(RunSpec.from_dict(data["spec"]), dict(data["history"]), dict(data["final"]), float(data["seconds"]))


def _data_key(data: DataSpec) -> str:
    return data.model_dump_json()


def load_splits(data: DataSpec) -> Any:
    """``reglab.data.load`` for a data spec, cached per process (keyed by the whole spec)."""
    key = _data_key(data)
    splits = _SPLITS.get(key)
    if splits is None:
        from reglab.data import load

        splits = load(
            data.name,
            seed=data.seed,
            train_size=data.train_size,
            label_noise=data.label_noise,
            val_fraction=data.val_fraction,
            **data.options,
        )
        _SPLITS[key] = splits
    return splits


def preload_splits(items: dict[str, Any]) -> None:
    """Seed this process's cache with splits loaded elsewhere (the runner's parent process)."""
    _SPLITS.update(items)


def cached_splits() -> dict[str, Any]:
    return dict(_SPLITS)


def build_model(model: ModelSpec, info: Any, *, dropout: float = 0.0, drop_path: float = 0.0,
                input_noise: float = 0.0, probe: torch.Tensor | None = None,
                options: dict[str, Any] | None = None, outputs: int | None = None) -> nn.Module:
    """``reglab.models.build`` with the regularization options (only those that are non-zero).

    ``outputs`` overrides ``info.num_classes`` (2 for a Gaussian NLL regression model).
    ``options`` are further model-stage options set by technique hooks (``ctx.model_options``).
    A user's model (:func:`reglab.models.user.is_user_model`) is built by its factory with
    ``model.options``, checked on ``probe`` (a few training inputs; its output wrapped in
    ``LogitsOf`` when it is not a plain tensor) and given ``dropout``/``drop_path`` by
    :func:`reglab.retrofit.retrofit`; its ``retrofit_notes`` attribute holds the sentences.

    Raises:
        ConfigError: a user's model that cannot be built, fails on ``probe``, has the wrong output
            shape, or cannot take the arm (``drop_path`` without residual blocks ...).
    """
    from reglab.models.user import is_user_model

    opts = dict(options or {})
    opts.update({k: v for k, v in (("dropout", dropout), ("drop_path", drop_path)) if v > 0})
    notes: list[str] | None = None
    if is_user_model(model.name):
        net, notes = _build_user_model(model, info, opts.pop("dropout", 0.0), opts.pop("drop_path", 0.0), probe,
                                       outputs)
    else:
        net = _build(model, info, opts, outputs)
    if input_noise > 0:
        from reglab.nn import GaussianNoise

        net = nn.Sequential(GaussianNoise(input_noise), net)
    if notes is not None:
        setattr(net, "retrofit_notes", notes)  # noqa: B010 - a plain attribute beside the modules
    return net


def _build(model: ModelSpec, info: Any, options: dict[str, Any], outputs: int | None = None) -> nn.Module:
    from reglab.models import build

    return build(model.name, tuple(info.input_shape), int(outputs or info.num_classes), **{**model.options, **options})


def _build_user_model(model: ModelSpec, info: Any, dropout: float, drop_path: float,
                      probe: torch.Tensor | None, outputs: int | None = None) -> tuple[nn.Module, list[str]]:
    from reglab.errors import ConfigError
    from reglab.models.user import LogitsOf, build_user, check_output
    from reglab.retrofit import retrofit

    n_out = int(outputs or info.num_classes)
    net = build_user(model.name, tuple(info.input_shape), n_out, output=model.output, **model.options)
    if probe is not None:
        net = check_output(net, probe, n_out, info.task, model.name)
    inner = net.model if isinstance(net, LogitsOf) else net
    try:
        _, notes = retrofit(inner, dropout=dropout, drop_path=drop_path, name=model.name, probe=probe)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if isinstance(net, LogitsOf):
        notes.insert(0, f"output: {net.rule}.")
    return net, notes


def _decay_note(model: nn.Module, weight_decay: float) -> str:
    from reglab.penalties import param_groups

    decayed, rest = (g["params"] for g in param_groups(model, weight_decay))
    return (f"weight_decay={weight_decay:g}: decoupled decay on {len(decayed)} weight tensor"
            f"{'s' if len(decayed) != 1 else ''}; {len(rest)} bias/norm/embedding tensor"
            f"{'s' if len(rest) != 1 else ''} not decayed (penalties.param_groups).")


def _optimizer(spec: RunSpec, model: nn.Module, wd: float | None = None) -> torch.optim.Optimizer:
    opt = spec.optimizer
    wd = spec.regularization.weight_decay if wd is None else wd
    if wd > 0:
        from reglab.penalties import param_groups

        params: Any = param_groups(model, wd)
    else:
        params = [p for p in model.parameters() if p.requires_grad]
    if opt.name == "adamw":
        return torch.optim.AdamW(params, lr=opt.lr, weight_decay=0.0 if wd == 0 else wd)
    if opt.name == "adam":
        return torch.optim.Adam(params, lr=opt.lr, weight_decay=0.0 if wd == 0 else wd)
    return torch.optim.SGD(params, lr=opt.lr, momentum=opt.momentum, weight_decay=0.0 if wd == 0 else wd)


def _loss(spec: RunSpec, task: str) -> Any:
    """The training loss before technique hooks: plain cross-entropy, or the regression loss
    ``spec.loss`` names (``reglab.experiments.regression.regression_loss``)."""
    if task != "classification":
        from reglab import losses

        return getattr(losses, regression_loss(spec.loss, task, spec.arm))
    from reglab.losses import LabelSmoothingCrossEntropy

    return LabelSmoothingCrossEntropy(0.0)


@torch.no_grad()
def evaluate_split(model: nn.Module, x: torch.Tensor, y: torch.Tensor, task: str, *,
                   device: str = "cpu", batch_size: int = 1000) -> tuple[float, float | None]:
    """(mean loss, accuracy) of ``model`` in eval mode: cross-entropy and accuracy for
    classification, MSE and ``None`` for regression."""
    if len(y) == 0:
        return math.nan, None
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    for start in range(0, len(y), batch_size):
        xb = x[start:start + batch_size].to(device)
        yb = y[start:start + batch_size].to(device)
        out = model(xb)
        if task == "classification":
            total_loss += float(F.cross_entropy(out, yb, reduction="sum"))
            correct += int((out.argmax(1) == yb).sum())
        else:
            total_loss += float(F.mse_loss(out.reshape(yb.shape), yb, reduction="sum"))
    model.train(was_training)
    n = len(y)
    return total_loss / n, (correct / n if task == "classification" else None)


def _teachers(spec: RunSpec, device: str) -> list[nn.Module]:
    """Train (or reuse) the distillation teachers: plain runs of the teacher model, same data.

    Runs under ``torch.random.fork_rng`` so the student's run sees the global RNG it would see
    without teachers."""
    dist = spec.regularization.distillation
    if dist is None:
        return []
    teachers = []
    where = torch.device(device)
    cuda = [where.index if where.index is not None else torch.cuda.current_device()] if where.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):  # cached or not, the student sees the same RNG state
        for i in range(dist.teachers):
            tspec = RunSpec(
                arm=f"teacher-{i}",
                seed=spec.seed * 1000 + i,
                epochs=dist.teacher_epochs or spec.epochs,
                batch_size=spec.batch_size,
                data=spec.data,
                model=dist.teacher or spec.model,  # None: self-distillation
                optimizer=spec.optimizer,
            )
            key = tspec.key()
            if key not in _TEACHERS:
                _TEACHERS[key] = [train(tspec, device=device, progress=False)[0]]
            teachers.extend(_TEACHERS[key])
    for t in teachers:
        t.eval()
    return teachers


def augmentation(spec: RunSpec, splits: Any) -> Any:
    """The run's augmentation transform (None for ``augment="none"``), as the ``augment``
    technique's hook builds it (``reglab.techniques.augmentation_transform``)."""
    from reglab.techniques import augmentation_transform

    return augmentation_transform(spec.regularization.augment, splits.info, splits.x_train)


def _apply_techniques(ctx: TrainContext, stage: str) -> None:
    """Call the ``apply`` hook of every technique of ``stage`` whose field is set in the spec."""
    reg = ctx.spec.regularization
    for technique in TECHNIQUES.values():
        if technique.apply is None or technique.stage != stage or technique.field is None:
            continue
        value = field_value(reg, technique.field, technique.off)
        if technique.is_set(value):
            technique.apply(ctx, value)


def user_callbacks(callbacks: Any, spec: RunSpec) -> list[Any]:
    """The user's Trainer callbacks for ``spec``: a sequence of callbacks, or a factory
    ``spec -> sequence`` (a fresh set per run; module-level so worker processes can pickle it)."""
    from reglab.training import Callback

    if callbacks is None:
        return []
    made = callbacks(spec) if callable(callbacks) else callbacks
    made = list(made) if isinstance(made, (list, tuple)) else made
    if not isinstance(made, list) or not all(isinstance(cb, Callback) for cb in made):
        raise ValueError(invalid_argument(
            "callbacks", "None, a sequence of reglab.training.Callback or a function spec -> such a sequence", callbacks))
    return made


def train(spec: RunSpec, *, device: str, progress: bool, callbacks: Any = None) -> tuple[nn.Module, dict[str, Any], Any]:
    """Train ``spec`` as :func:`run_one` does, unmeasured: every set technique applied by its hook,
    then the user's ``callbacks`` (see :func:`user_callbacks`) after the techniques' own.

    Args:
        spec: the run.
        device: torch device.
        progress: show the Trainer's per-epoch progress.
        callbacks: extra Trainer callbacks (see :func:`user_callbacks`). Defaults to None.

    Returns:
        ``(model, history, splits)``: the trained model (final weights: the restored best weights
        under early stopping), ``History.to_dict()`` and the run's ``reglab.data`` splits.
    """
    from reglab.training import Trainer

    extra_callbacks = callbacks
    splits = load_splits(spec.data)
    info = splits.info
    # spec checks before any teacher trains: a regression loss on a classifier, or a
    # classification-only technique on a regression task, is a ConfigError
    loss_name = regression_loss(spec.loss, info.task, spec.arm)
    outputs = None
    if info.task != "classification":
        from reglab.losses import regression_outputs

        check_regression_spec(spec)
        outputs = regression_outputs(loss_name)
    ctx = TrainContext(spec=spec, info=info, splits=splits, device=device,
                       train_teachers=lambda: _teachers(spec, device),
                       loss_fn=_loss(spec, info.task),
                       eval_loss_fn=F.cross_entropy if info.task == "classification" else None)
    _apply_techniques(ctx, "model")
    torch.manual_seed(spec.seed)
    ctx.model = build_model(spec.model, info, options=ctx.model_options, probe=splits.x_train[:2], outputs=outputs)
    notes = getattr(ctx.model, "retrofit_notes", None)
    for edit in ctx.model_edits:
        ctx.model = edit(ctx.model)
    for stage in STAGES[1:]:
        _apply_techniques(ctx, stage)
    ctx.callbacks += user_callbacks(extra_callbacks, spec)
    model = ctx.model.to(device)
    optimizer = _optimizer(spec, model, ctx.weight_decay)
    from reglab.training.schedules import lr_scheduler

    opt = spec.optimizer
    scheduler = lr_scheduler(optimizer, opt.schedule, spec.epochs, warmup_epochs=opt.warmup_epochs,
                             step_size=opt.step_size, gamma=opt.gamma)
    if notes is not None:
        if ctx.weight_decay > 0:
            notes = [*notes, _decay_note(model, ctx.weight_decay)]
        setattr(model, "retrofit_notes", notes)  # noqa: B010 - a plain attribute beside the modules
    fit_splits = splits if info.task == "classification" else standardized(splits)
    train_loader, val_loader, _ = fit_splits.loaders(spec.batch_size, seed=spec.seed)
    trainer = Trainer(
        model,
        optimizer,
        ctx.loss_fn,
        train_loader=train_loader,
        val_loader=val_loader if info.n_val > 0 else None,
        callbacks=ctx.callbacks,
        epochs=spec.epochs,
        device=device,
        seed=spec.seed,
        batch_transform=ctx.batch_transform,
        penalties=ctx.penalties,
        teacher=ctx.teacher,
        clip_grad_norm=ctx.clip_grad_norm,
        max_norm=ctx.max_norm,
        progress=progress or None,
        eval_loss_fn=ctx.eval_loss_fn,
        lr_scheduler=scheduler,
    )
    history = trainer.fit().to_dict()
    return model, history, splits


def run_one(spec: RunSpec, *, device: str = "cpu", progress: bool = False, callbacks: Any = None) -> RunResult:
    """Train one run spec and measure its final weights on train, validation and test.

    Args:
        spec: the run.
        device: torch device. Defaults to ``"cpu"``.
        progress: show the Trainer's per-epoch progress. Defaults to False.
        callbacks: extra :class:`reglab.training.Callback` instances for the run's Trainer
            (loggers, an Optuna pruning hook), or a function ``spec -> list of callbacks``.
            They run after the spec's own early stopping. Defaults to None.

    Returns:
        :class:`RunResult` with ``History.to_dict()`` and the final metrics.
    """
    start = time.perf_counter()
    model, history, splits = train(spec, device=device, progress=progress, callbacks=callbacks)
    final = final_metrics(model, splits, history, device=device)
    notes = getattr(model, "retrofit_notes", None)
    if notes is not None:
        final["retrofit"] = list(notes)
    return RunResult(spec=spec, history=history, final=final, seconds=time.perf_counter() - start)


def final_metrics(model: nn.Module, splits: Any, history: dict[str, Any], *, device: str = "cpu") -> dict[str, Any]:
    """The ``final`` metrics of a :class:`RunResult` for a trained model (see :class:`RunResult`).

    Loss and accuracy on train, validation and test (:func:`evaluate_split`: eval mode, plain
    cross-entropy, MSE for regression), ``best_epoch``/``stopped_epoch`` from
    ``history``, and ``n_params, num_classes, n_train, data_notes, weight_hist``.

    Args:
        model: the trained model (its final weights are measured).
        splits: the run's ``reglab.data`` splits.
        history: ``History.to_dict()`` of the run.
        device: torch device. Defaults to ``"cpu"``.

    Returns:
        dict with the keys listed in :class:`RunResult`.
    """
    info = splits.info
    final: dict[str, Any] = {}
    if info.task == "classification":
        for split in ("train", "val", "test"):
            loss, acc = evaluate_split(model, getattr(splits, f"x_{split}"), getattr(splits, f"y_{split}"),
                                       info.task, device=device)
            final[f"{split}_loss"] = loss
            final[f"{split}_acc"] = acc
    else:  # MSE, RMSE and log-likelihood on the original scale (reglab.experiments.regression)
        final.update({f"{split}_acc": None for split in ("train", "val", "test")})
        final.update(regression_metrics(model, splits, device=device))
    final["best_epoch"] = history.get("best_epoch")
    final["stopped_epoch"] = history.get("stopped_epoch")
    final["n_params"] = sum(p.numel() for p in model.parameters())
    final["num_classes"] = int(info.num_classes)
    final["n_train"] = int(info.n_train)
    final["data_notes"] = list(info.notes)  # how the data was read and split (the report's setup)
    from reglab.experiments.weights import weight_histogram

    final["weight_hist"] = weight_histogram(model)
    return final
