"""The catalogue: one :class:`~reglab.techniques.technique.Technique` per regularizer.

Starting values and their sources:

- ``dropout`` 0.2 (Srivastava et al. 2014, JMLR 15: 0.5 for wide hidden layers, 0.2 at inputs;
  0.2 is the better start for small nets: MNIST-1D MLP 66.6% -> 69.8%, one seed).
- ``weight_decay`` 0.1, decoupled (Loshchilov & Hutter 2019, ICLR, arXiv:1711.05101).
- ``l1`` 1e-4 times the sum of absolute weights (Tibshirani 1996; Ng 2004, ICML).
- ``l2`` 5e-4, coupled: added to the loss (Krogh & Hertz 1992, NeurIPS).
- ``early_stopping`` patience 20 on validation accuracy, best weights restored (Prechelt 1998).
  Accuracy, not loss: on MNIST-1D the validation loss of an unregularized MLP bottoms out at
  epoch ~8 while its validation accuracy keeps rising until epoch 30-58 (measured, 3 seeds), so
  stopping on the loss cost 4.6 points of test accuracy. A base ``[regularization.early_stopping]``
  table (e.g. ``monitor = "val_loss"``) overrides the monitor.
- ``label_smoothing`` 0.1 (Szegedy et al. 2016, CVPR, arXiv:1512.00567).
- ``mixup`` alpha 0.2 (Zhang et al. 2018, ICLR, arXiv:1710.09412).
- ``cutmix`` alpha 1.0 (Yun et al. 2019, ICCV, arXiv:1905.04899); image inputs only.
- ``input_noise`` std 0.1 on standardised inputs (Bishop 1995, Neural Computation 7(1)).
- ``max_norm`` c = 3 per unit (Srivastava et al. 2014: c = 3-4).
- ``grad_clip`` max gradient norm 1.0 (Pascanu et al. 2013, ICML, arXiv:1211.5063).
- ``drop_path`` 0.1 (Huang et al. 2016, ECCV, arXiv:1603.09382); residual models only.
- ``distillation`` temperature 4, alpha 0.9 (Hinton et al. 2015, arXiv:1503.02531); the teacher
  is a 2 x 512 MLP with dropout 0.3 (``DistillationSpec``).
- ``ensemble_distillation`` 3 teachers, their softened probabilities averaged (Hinton et al. 2015).
- ``self_distillation`` temperature 4, the teacher of the student's own architecture (Furlanello
  et al. 2018, ICML, "Born-Again Neural Networks", arXiv:1805.04770).
- ``augment`` policy ``auto``: the dataset's default augmentation (``reglab.augment.policies``:
  MNIST-1D -> circular shifts of up to 4 samples; images -> random crop + flip where a flip keeps
  the labels, else crop + rotation up to 10 degrees). Alone it lifts the MNIST-1D MLP from about
  63% to 77% test accuracy (5 seeds, 200 epochs; +-4 chosen on validation among 0-12).
- ``teacher`` (no value; edits the whole run spec): the distillation teacher's model (the study's
  ``[distillation]`` table, else ``DistillationSpec``'s 2 x 512 MLP with dropout 0.3) trained
  with no regularization for ``teacher_epochs`` (else the study's epochs): the run a distilled
  arm trains as its teacher, seed aside (the arm runs the study's seed ``s``, paired with the
  other arms; a distilled run's teacher ``i`` has seed ``1000 s + i``).
- ``born_again`` temperature 4 (edits the whole run spec): the teacher's model distilled from a
  teacher of its own architecture (Furlanello et al. 2018's born-again networks at the teacher's
  size); with the same seed as the ``teacher`` arm it starts from the teacher arm's weights.
- ``stack``: dropout 0.2 + weight decay 0.05 + early stopping (as above), plus DropPath 0.1 on
  residual models (MNIST-1D MLP 71.5% with dropout 0.2 + weight decay 0.05, one seed). On the
  datasets with an augmentation policy (signals, images) the stack is the ``auto`` augmentation +
  mixup 0.2 + weight decay 0.05 + early stopping instead: chosen on validation among four
  augmented stacks (MNIST-1D MLP, 100 epochs, 3 seeds, mean val / test accuracy): mixup 0.2 + wd
  0.05 78.2 / 75.5; dropout 0.1 + smoothing 0.1 76.5 / 74.8; dropout 0.1 + wd 0.05 + smoothing 0.1
  76.5 / 74.7; dropout 0.2 + wd 0.05 70.8 / 69.9 (dropout 0.2 on top of augmentation underfits).

Search ranges of ``reglab tune`` (``tune=``): the rates where the papers and common practice look
(dropout up to 0.7, DropPath up to 0.5, label smoothing up to 0.3), and log-uniform decades around
each strength's starting value for the rest (weight decay 1e-5 to 1, L1 1e-7 to 1e-3, L2 1e-6 to
1e-2, mixup alpha 0.05 to 2, CutMix alpha 0.1 to 2, input noise 0.01 to 1, max-norm 0.5 to 10,
gradient clipping 0.1 to 10); early-stopping patience 5 to 50 epochs; distillation temperature 1
to 10 (Hinton et al. 2015 use 1 to 20). The composite arms and the distillation variants that
share the ``distillation`` field without applying it have no search range.
"""

from __future__ import annotations

from typing import Any

from reglab._policy_names import POLICIES
from reglab.errors import ConfigError, invalid_argument
from reglab.techniques.technique import Range, SearchRange, Technique, TrainContext

__all__ = ["BUILTIN"]

_PROB = Range(0.0, 1.0)  # [0, 1)
_NONNEG = Range(0.0, None)
_POS = Range(0.0, None, low_inclusive=False)


def _model_option(name: str) -> Any:
    def apply(ctx: TrainContext, value: Any) -> None:
        ctx.model_options[name] = value

    return apply


def _weight_decay(ctx: TrainContext, value: float) -> None:
    ctx.weight_decay = value


def _penalty(kind: str) -> Any:
    def apply(ctx: TrainContext, value: float) -> None:
        from reglab.penalties import Penalty

        ctx.penalties.append(Penalty(kind, value))

    return apply


def _label_smoothing(ctx: TrainContext, value: float) -> None:
    if ctx.info.task == "classification":
        from reglab.losses import LabelSmoothingCrossEntropy

        ctx.loss_fn = LabelSmoothingCrossEntropy(value)


def _mixup(ctx: TrainContext, value: float) -> None:
    """One ``MixupCutmix`` for both alphas (it switches between them per batch)."""
    from reglab.augment import MixupCutmix

    reg = ctx.spec.regularization
    ctx.add_batch_transform(MixupCutmix(mixup_alpha=reg.mixup_alpha, cutmix_alpha=reg.cutmix_alpha,
                                        num_classes=ctx.info.num_classes))


def _cutmix(ctx: TrainContext, value: float) -> None:
    if ctx.spec.regularization.mixup_alpha == 0:  # else mixup's hook (earlier) built the shared transform
        _mixup(ctx, value)


def _input_noise(ctx: TrainContext, value: float) -> None:
    from torch import nn

    from reglab.nn import GaussianNoise

    ctx.model = nn.Sequential(GaussianNoise(value), ctx.model)


def _max_norm(ctx: TrainContext, value: float) -> None:
    ctx.max_norm = value


def _grad_clip(ctx: TrainContext, value: float) -> None:
    ctx.clip_grad_norm = value


def _early_stopping_edit(reg: dict[str, Any], value: int) -> None:
    reg["early_stopping"] = {"monitor": "val_acc", "mode": "max", **(reg.get("early_stopping") or {}),
                             "patience": value}


def early_stopping_monitor(monitor: str, mode: str, task: str) -> tuple[str, str]:
    """The ``(monitor, mode)`` a run's early stopping uses on a ``task``: a regression has no
    accuracy, so ``val_acc``/``max`` (the arm's default) reads as ``val_loss``/``min``. The one
    rule for the train-time hook and the settings text of reports."""
    if task != "classification" and monitor.endswith("_acc"):
        return monitor[:-4] + "_loss", "min"
    return monitor, mode


def _early_stopping(ctx: TrainContext, es: Any) -> None:
    from reglab.training import EarlyStopping

    monitor, mode = early_stopping_monitor(es.monitor, es.mode, ctx.info.task)
    ctx.callbacks.append(EarlyStopping(monitor=monitor, mode=mode, patience=es.patience,
                                       min_delta=es.min_delta, restore_best=es.restore_best))


def _distillation_edit(key: str, **fixed: Any) -> Any:
    def edit(reg: dict[str, Any], value: Any) -> None:
        reg["distillation"] = {**(reg.get("distillation") or {}), **fixed, key: value}

    return edit


def _distillation(ctx: TrainContext, dist: Any) -> None:
    from reglab.losses import DistillationLoss

    teachers = ctx.train_teachers() if ctx.train_teachers is not None else []
    if not teachers:
        raise RuntimeError("distillation needs TrainContext.train_teachers to return the teachers")
    ctx.teacher = teachers[0] if len(teachers) == 1 else teachers
    ctx.loss_fn = DistillationLoss(dist.temperature, dist.alpha)
    ctx.eval_loss_fn = None


def _distillation_label(dist: Any, spec: Any) -> str:
    teacher = dist.teacher or spec.model
    return f"distillation (teacher {teacher.name!r})"


def _teacher_edit(spec: dict[str, Any], value: Any) -> None:
    """The teacher arm: the run spec's model becomes the distillation teacher's, trained plainly."""
    dist = spec["regularization"].get("distillation") or {}
    teacher = dist.get("teacher")
    if teacher is None:
        raise ConfigError(invalid_argument(
            "distillation.teacher", "a teacher model for the 'teacher' arm (None is self-distillation, "
            "whose teacher is the study's own model: the baseline)", None))
    spec["model"] = teacher
    if dist.get("teacher_epochs") is not None:
        spec["epochs"] = dist["teacher_epochs"]
    spec["regularization"] = {}


def _born_again_edit(spec: dict[str, Any], value: Any) -> None:
    """Self-distillation at the teacher's size: the model becomes the teacher's, distilled from a
    teacher of its own architecture."""
    reg = spec["regularization"]
    dist = reg.get("distillation") or {}
    if dist.get("teacher") is not None:
        spec["model"] = dist["teacher"]
    reg["distillation"] = {**dist, "teacher": None, "temperature": value}


def _baseline(reg: dict[str, Any], value: Any) -> None:
    return None


def _stack(reg: dict[str, Any], value: Any) -> None:
    reg["dropout"] = 0.2
    reg["weight_decay"] = 0.05
    _early_stopping_edit(reg, 20)


def augmentation_transform(policy: str, info: Any, x_train: Any) -> Any:
    """The batch transform of the augmentation ``policy`` for a dataset (None for ``"none"``):
    ``reglab.augment.resolve_policy`` for the dataset's name and input shape, image borders filled
    with the training set's minimum (a black pixel once standardised, as torchvision pads raw
    images with 0)."""
    from reglab.augment import resolve_policy

    if policy == "none":
        return None
    fill = float(x_train.min()) if len(info.input_shape) == 3 and len(x_train) else 0.0
    return resolve_policy(policy, info.name, tuple(info.input_shape), fill=fill)


def _augment(ctx: TrainContext, policy: str) -> None:
    ctx.add_batch_transform(augmentation_transform(policy, ctx.info, ctx.splits.x_train))


_FURLANELLO = "Furlanello et al. 2018, Born-Again Neural Networks, ICML, arXiv:1805.04770"
_HINTON = "Hinton, Vinyals & Dean 2015, Distilling the Knowledge in a Neural Network, arXiv:1503.02531"

#: The built-in techniques, in catalogue order (the order of listings, sweeps and train-time hooks).
BUILTIN: tuple[Technique, ...] = (
    Technique("baseline", "no regularization beyond the base config", edit=_baseline, off=None),
    Technique(
        "dropout", "dropout on hidden units", "Srivastava et al. 2014, JMLR 15(56)",
        acts_on=("model",), field="dropout", default=0.2, range=_PROB, sweepable=True,
        modules=("dropout", "alpha_dropout", "gaussian_dropout", "spatial_dropout", "locked_dropout"),
        apply=_model_option("dropout"), tune=SearchRange(0.0, 0.7),
    ),
    Technique(
        "drop_path", "DropPath / stochastic depth on residual blocks",
        "Huang et al. 2016, Deep Networks with Stochastic Depth, ECCV, arXiv:1603.09382",
        acts_on=("model",), field="drop_path", default=0.1, range=_PROB, sweepable=True,
        aliases=("stochastic_depth",), modules=("drop_path",), vectorized=False, requires="residual",
        apply=_model_option("drop_path"), tune=SearchRange(0.0, 0.5),
    ),
    Technique(
        "weight_decay", "decoupled weight decay, AdamW, biases/norms excluded",
        "Loshchilov & Hutter 2019, Decoupled Weight Decay Regularization, ICLR, arXiv:1711.05101",
        acts_on=("optimizer",), field="weight_decay", default=0.1, range=_NONNEG, sweepable=True,
        log_scale=True, apply=_weight_decay, tune=SearchRange(1e-5, 1.0, log=True),
    ),
    Technique(
        "l1", "L1 penalty on the weights, added to the loss", "Tibshirani 1996, JRSS B 58(1)",
        acts_on=("loss",), field="l1", default=1e-4, range=_NONNEG, sweepable=True, log_scale=True,
        apply=_penalty("l1"), tune=SearchRange(1e-7, 1e-3, log=True),
    ),
    Technique(
        "l2", "coupled L2 penalty on the weights, added to the loss",
        "Krogh & Hertz 1992, A Simple Weight Decay Can Improve Generalization, NeurIPS",
        acts_on=("loss",), field="l2", default=5e-4, range=_NONNEG, sweepable=True, log_scale=True,
        apply=_penalty("l2"), tune=SearchRange(1e-6, 1e-2, log=True),
    ),
    Technique(
        "label_smoothing", "label smoothing",
        "Szegedy et al. 2016, Rethinking the Inception Architecture, CVPR, arXiv:1512.00567",
        acts_on=("loss",), field="label_smoothing", default=0.1, range=_PROB, sweepable=True,
        modules=("label_smoothing",), apply=_label_smoothing, tune=SearchRange(0.0, 0.3),
    ),
    Technique(
        "augment", "data augmentation policy (`auto`: the dataset's default, e.g. shifts of MNIST-1D signals)",
        "Simard, Steinkraus & Platt 2003, Best Practices for Convolutional Neural Networks, ICDAR; "
        "Krizhevsky, Sutskever & Hinton 2012, ImageNet Classification with Deep CNNs, NeurIPS",
        acts_on=("batch",), field="augment", default="auto", off="none", choices=POLICIES,
        modules=("pipeline",), apply=_augment,
    ),
    Technique(
        "mixup", "mixup of input pairs", "Zhang et al. 2018, mixup, ICLR, arXiv:1710.09412",
        acts_on=("batch", "loss"), field="mixup_alpha", default=0.2, range=_NONNEG, sweepable=True,
        modules=("mixup", "mixup_cutmix"), apply=_mixup, tune=SearchRange(0.05, 2.0, log=True),
    ),
    Technique(
        "cutmix", "CutMix patches", "Yun et al. 2019, CutMix, ICCV, arXiv:1905.04899",
        acts_on=("batch", "loss"), field="cutmix_alpha", default=1.0, range=_NONNEG, sweepable=True,
        modules=("cutmix",), vectorized=False, requires="images", apply=_cutmix,
        tune=SearchRange(0.1, 2.0, log=True),
    ),
    Technique(
        "input_noise", "Gaussian noise added to the inputs",
        "Bishop 1995, Training with Noise is Equivalent to Tikhonov Regularization, Neural Computation 7(1)",
        acts_on=("batch",), field="input_noise", default=0.1, range=_NONNEG, sweepable=True,
        aliases=("gaussian_noise",), modules=("gaussian_noise",), apply=_input_noise,
        tune=SearchRange(0.01, 1.0, log=True),
    ),
    Technique(
        "max_norm", "per-unit max-norm weight constraint", "Srivastava et al. 2014, JMLR 15(56)",
        acts_on=("loop",), field="max_norm", default=3.0, off=None, range=_POS, sweepable=True,
        apply=_max_norm, tune=SearchRange(0.5, 10.0, log=True),
    ),
    Technique(
        "grad_clip", "clip the global gradient norm",
        "Pascanu, Mikolov & Bengio 2013, On the difficulty of training RNNs, ICML, arXiv:1211.5063",
        acts_on=("loop",), field="grad_clip", default=1.0, off=None, range=_POS, sweepable=True,
        apply=_grad_clip, tune=SearchRange(0.1, 10.0, log=True),
    ),
    Technique(
        "early_stopping", "stop when validation accuracy stalls for `patience` epochs; restore the best weights",
        "Prechelt 1998, Early Stopping - But When?, Neural Networks: Tricks of the Trade",
        acts_on=("loop",), field="early_stopping", default=20, off=None, range=Range(0, None, integer=True),
        shown_key="patience", edit=_early_stopping_edit, apply=_early_stopping,
        tune=SearchRange(5, 50, integer=True),
    ),
    Technique(
        "distillation", "knowledge distillation from a wider teacher", _HINTON,
        acts_on=("loss",), field="distillation", default=4.0, off=None, range=_POS, vectorized=False,
        modules=("distillation",), shown_key="temperature", edit=_distillation_edit("temperature"),
        apply=_distillation, label=_distillation_label, tune=SearchRange(1.0, 10.0),
    ),
    Technique(
        "ensemble_distillation", "distillation from `value` teachers' averaged soft targets", _HINTON,
        acts_on=("loss",), field="distillation", default=3, off=None, range=Range(1, None, integer=True),
        vectorized=False, edit=_distillation_edit("teachers"),
    ),
    Technique(
        "self_distillation", "distillation from a teacher of the student's own architecture",
        _FURLANELLO,
        acts_on=("loss",), field="distillation", default=4.0, off=None, range=_POS, vectorized=False,
        edit=_distillation_edit("temperature", teacher=None),
    ),
    Technique(
        "teacher", "the distillation teacher's model trained plainly (the teacher arm of a distillation study)",
        _HINTON, acts_on=("model",), field="distillation", off=None, edit=_teacher_edit, scope="run",
    ),
    Technique(
        "born_again", "self-distillation at the teacher's size: the teacher's model distilled from a teacher "
        "of its own architecture", _FURLANELLO, acts_on=("model", "loss"), field="distillation", default=4.0, off=None, range=_POS,
        vectorized=False, edit=_born_again_edit, scope="run",
    ),
    Technique(
        "stack", "recommended stack: dropout 0.2 + weight decay 0.05 + early stopping (+ DropPath 0.1)",
        edit=_stack, off=None,
    ),
)
