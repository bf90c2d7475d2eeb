"""``run_one``: the single place where a :class:`RunSpec` becomes a training run.

The same spec gives the same numbers in the parent process, in a worker process or on another
machine: the model is initialised under ``torch.manual_seed(spec.seed)``, the Trainer draws its
shuffling and dropout randomness from ``spec.seed``, and the data split comes from
``spec.data.seed`` (the same for every arm, so arms are compared on the same examples).

What each regularization field turns into:

==================  =============================================================================
``dropout``         ``models.build(..., dropout=p)`` (Srivastava et al. 2014)
``drop_path``       ``models.build(..., drop_path=p)``, residual models (Huang et al. 2016)
``weight_decay``    AdamW (Loshchilov & Hutter 2019) on ``penalties.param_groups`` (biases and
                    norms not decayed); with ``adam``/``sgd`` the optimizer's own coupled decay
``l1`` / ``l2``     ``Penalty("l1"|"l2", coefficient)`` added to the loss by the Trainer
``label_smoothing`` ``losses.LabelSmoothingCrossEntropy`` (Szegedy et al. 2016)
``mixup_alpha``     ``augment.MixupCutmix`` batch transform (Zhang et al. 2018; Yun et al. 2019
``cutmix_alpha``    for ``cutmix_alpha``), soft targets scored by the same loss
``input_noise``     ``nn.GaussianNoise(std)`` in front of the model (Bishop 1995)
``augment``         ``augment.resolve_policy(name, dataset, input_shape)``: a batch transform run
                    before the mixing one (Trainer ``batch_transform=[augment, mix]``)
``max_norm``        Trainer ``max_norm=c`` (per-unit constraint, Srivastava et al. 2014)
``grad_clip``       Trainer ``clip_grad_norm``
``early_stopping``  ``training.EarlyStopping`` callback (Prechelt 1998)
``distillation``    teacher(s) trained first from the same data (cached per process), then
                    ``Trainer(teacher=..., loss_fn=DistillationLoss(T, alpha))`` (Hinton et al. 2015)
==================  =============================================================================

Final metrics are measured on the weights the run ends with (the restored best weights under early
stopping), in eval mode, with the plain cross-entropy (MSE for regression), so arms trained with
different losses are scored alike.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from reglab.experiments.spec import DataSpec, ModelSpec, RunSpec

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
            val_acc, val_loss, best_epoch, stopped_epoch, gap`` (``train_acc - val_acc``; loss gap
            ``val_loss - train_loss`` for regression), ``test_gap`` (``train_acc - test_acc``),
            ``n_params, num_classes, n_train, weight_hist`` (``analysis.weight_histogram``).
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
                input_noise: float = 0.0) -> nn.Module:
    """``reglab.models.build`` with the regularization options (only those that are non-zero)."""
    from reglab.models import build

    options = dict(model.options)
    if dropout > 0:
        options["dropout"] = dropout
    if drop_path > 0:
        options["drop_path"] = drop_path
    net = build(model.name, tuple(info.input_shape), int(info.num_classes), **options)
    if input_noise > 0:
        from reglab.nn import GaussianNoise

        net = nn.Sequential(GaussianNoise(input_noise), net)
    return net


def _optimizer(spec: RunSpec, model: nn.Module) -> torch.optim.Optimizer:
    opt, wd = spec.optimizer, spec.regularization.weight_decay
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


def _loss(spec: RunSpec, task: str) -> nn.Module:
    if task != "classification":
        return nn.MSELoss()
    from reglab.losses import LabelSmoothingCrossEntropy

    return LabelSmoothingCrossEntropy(spec.regularization.label_smoothing)


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
    """Train (or reuse) the distillation teachers: plain runs of the teacher model, same data."""
    dist = spec.regularization.distillation
    if dist is None:
        return []
    teachers = []
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
    """The run's augmentation transform (None for ``augment="none"``): the named policy for the
    dataset, image borders filled with the training set's minimum (a black pixel once
    standardised), as torchvision pads raw images with 0."""
    from reglab.augment import resolve_policy

    if spec.regularization.augment == "none":
        return None
    info = splits.info
    fill = float(splits.x_train.min()) if len(info.input_shape) == 3 and len(splits.x_train) else 0.0
    return resolve_policy(spec.regularization.augment, info.name, tuple(info.input_shape), fill=fill)


def train(spec: RunSpec, *, device: str, progress: bool) -> tuple[nn.Module, dict[str, Any], Any]:
    """Train ``spec`` as :func:`run_one` does (teachers first under distillation), unmeasured.

    Args:
        spec: the run.
        device: torch device.
        progress: show the Trainer's per-epoch progress.

    Returns:
        ``(model, history, splits)``: the trained model (final weights: the restored best weights
        under early stopping), ``History.to_dict()`` and the run's ``reglab.data`` splits.
    """
    from reglab.training import EarlyStopping, Penalty, Trainer

    splits = load_splits(spec.data)
    info = splits.info
    reg = spec.regularization
    teacher = _teachers(spec, device) if reg.distillation is not None else None
    torch.manual_seed(spec.seed)
    model = build_model(spec.model, info, dropout=reg.dropout, drop_path=reg.drop_path,
                        input_noise=reg.input_noise).to(device)
    optimizer = _optimizer(spec, model)
    if teacher is not None:
        from reglab.losses import DistillationLoss

        loss_fn: nn.Module = DistillationLoss(reg.distillation.temperature, reg.distillation.alpha)
    else:
        loss_fn = _loss(spec, info.task)
    batch_transform: list[Any] = []
    if reg.augment != "none":
        batch_transform.append(augmentation(spec, splits))
    if reg.mixup_alpha > 0 or reg.cutmix_alpha > 0:
        from reglab.augment import MixupCutmix

        batch_transform.append(MixupCutmix(
            mixup_alpha=reg.mixup_alpha, cutmix_alpha=reg.cutmix_alpha, num_classes=info.num_classes
        ))
    penalties = [Penalty(kind, coef) for kind, coef in (("l1", reg.l1), ("l2", reg.l2)) if coef > 0]
    callbacks = []
    if reg.early_stopping is not None:
        es = reg.early_stopping
        callbacks.append(EarlyStopping(monitor=es.monitor, mode=es.mode, patience=es.patience,
                                       min_delta=es.min_delta, restore_best=es.restore_best))
    train_loader, val_loader, _ = splits.loaders(spec.batch_size, seed=spec.seed)
    trainer = Trainer(
        model,
        optimizer,
        loss_fn,
        train_loader=train_loader,
        val_loader=val_loader if info.n_val > 0 else None,
        callbacks=callbacks,
        epochs=spec.epochs,
        device=device,
        seed=spec.seed,
        batch_transform=batch_transform[0] if len(batch_transform) == 1 else (batch_transform or None),
        penalties=penalties,
        teacher=teacher if teacher is None or len(teacher) > 1 else teacher[0],
        clip_grad_norm=reg.grad_clip,
        max_norm=reg.max_norm,
        progress=progress or None,
        eval_loss_fn=F.cross_entropy if info.task == "classification" and teacher is None else None,
    )
    history = trainer.fit().to_dict()
    return model, history, splits


def run_one(spec: RunSpec, *, device: str = "cpu", progress: bool = False) -> RunResult:
    """Train one run spec and measure its final weights on train, validation and test.

    Args:
        spec: the run.
        device: torch device. Defaults to ``"cpu"``.
        progress: show the Trainer's per-epoch progress. Defaults to False.

    Returns:
        :class:`RunResult` with ``History.to_dict()`` and the final metrics.
    """
    start = time.perf_counter()
    model, history, splits = train(spec, device=device, progress=progress)
    final = final_metrics(model, splits, history, device=device)
    return RunResult(spec=spec, history=history, final=final, seconds=time.perf_counter() - start)


def final_metrics(model: nn.Module, splits: Any, history: dict[str, Any], *, device: str = "cpu") -> dict[str, Any]:
    """The ``final`` metrics of a :class:`RunResult` for a trained model (see :class:`RunResult`).

    Loss and accuracy on train, validation and test (:func:`evaluate_split`: eval mode, plain
    cross-entropy, MSE for regression), the gaps, ``best_epoch``/``stopped_epoch`` from
    ``history``, and ``n_params, num_classes, n_train, weight_hist``.

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
    for split in ("train", "val", "test"):
        loss, acc = evaluate_split(model, getattr(splits, f"x_{split}"), getattr(splits, f"y_{split}"),
                                   info.task, device=device)
        final[f"{split}_loss"] = loss
        final[f"{split}_acc"] = acc
    if info.task == "classification":
        final["gap"] = final["train_acc"] - final["val_acc"] if final["val_acc"] is not None else None
        final["test_gap"] = final["train_acc"] - final["test_acc"]
    else:
        final["gap"] = final["val_loss"] - final["train_loss"]
        final["test_gap"] = final["test_loss"] - final["train_loss"]
    final["best_epoch"] = history.get("best_epoch")
    final["stopped_epoch"] = history.get("stopped_epoch")
    final["n_params"] = sum(p.numel() for p in model.parameters())
    final["num_classes"] = int(info.num_classes)
    final["n_train"] = int(info.n_train)
    from reglab.analysis import weight_histogram

    final["weight_hist"] = weight_histogram(model)
    return final
