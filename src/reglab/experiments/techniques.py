"""The technique catalogue: each study arm, its standard starting value and what it changes.

A study compares a baseline with every technique alone at a standard starting value, and a
recommended stack combining them. Each :class:`Technique` edits the ``regularization`` section of a
run spec (a plain dict) in one function, so an arm is fully described by its name (and optional
value, ``"dropout=0.5"``) and the resulting :class:`~reglab.experiments.spec.RunSpec` stays a plain,
serializable value.

Starting values and their sources:

- ``dropout`` 0.2 (Srivastava et al. 2014, JMLR 15: 0.5 for wide hidden layers, 0.2 at inputs;
  0.2 is the better start for small nets, FACTS: MNIST-1D MLP 66.6% -> 69.8%).
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
- ``drop_path`` 0.1 (Huang et al. 2016, ECCV, arXiv:1603.09382); residual models only.
- ``distillation`` temperature 4, alpha 0.9 (Hinton et al. 2015, arXiv:1503.02531); the teacher
  is a 2 x 512 MLP with dropout 0.3 (``DistillationSpec``).
- ``ensemble_distillation`` 3 teachers, their softened probabilities averaged (Hinton et al. 2015).
- ``self_distillation`` temperature 4, the teacher of the student's own architecture (Furlanello
  et al. 2018, ICML, "Born-Again Neural Networks", arXiv:1805.04770).
- ``augment`` policy ``auto``: the dataset's default augmentation (``reglab.augment.policies``:
  MNIST-1D -> circular shifts of up to 4 samples; images -> random crop + flip where a flip keeps
  the labels, else crop + rotation up to 10 degrees). Alone it lifts the MNIST-1D MLP from ~67% to
  ~78% validation accuracy (measured, round 1).
- ``stack``: dropout 0.2 + weight decay 0.05 + early stopping (as above), plus DropPath 0.1 on
  residual models (MNIST-1D MLP 71.5% with dropout 0.2 + weight decay 0.05). On the datasets
  with an augmentation policy (signals, images) the stack is the ``auto`` augmentation + mixup 0.2
  + weight decay 0.05 + early stopping instead: chosen on validation among four augmented stacks
  (MNIST-1D MLP, 100 epochs, 3 seeds, mean val / test accuracy): mixup 0.2 + wd 0.05 78.2 / 75.5;
  dropout 0.1 + smoothing 0.1 76.5 / 74.8; dropout 0.1 + wd 0.05 + smoothing 0.1 76.5 / 74.7;
  dropout 0.2 + wd 0.05 70.8 / 69.9 (dropout 0.2 on top of augmentation underfits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reglab._validate import format_choices
from reglab.errors import ConfigError, invalid_argument

__all__ = [
    "Technique",
    "TECHNIQUES",
    "RESIDUAL_MODELS",
    "DEFAULT_ARMS",
    "ALL_ARMS",
    "get_technique",
    "parse_arm",
    "expand_arms",
    "apply_arm",
]

#: Models with residual blocks, the only ones that accept ``drop_path`` (docs/contracts.md).
RESIDUAL_MODELS = ("resnet", "transformer")


@dataclass(frozen=True)
class Technique:
    """One study arm: how it edits a run spec's ``regularization`` dict.

    Attributes:
        name: the arm name used in configs and on the command line.
        description: one line for ``reglab study --list-techniques`` and reports.
        default: the standard starting value (None: the technique takes no value).
        apply: ``apply(regularization_dict, value)`` edits the dict in place.
        residual_only: True when the model must have residual blocks (DropPath).
        image_only: True when the inputs must be images (CutMix).
    """

    name: str
    description: str
    default: Any
    apply: Callable[[dict[str, Any], Any], None]
    residual_only: bool = False
    image_only: bool = False


def _setter(field: str) -> Callable[[dict[str, Any], Any], None]:
    def apply(reg: dict[str, Any], value: Any) -> None:
        reg[field] = value

    return apply


def _baseline(reg: dict[str, Any], value: Any) -> None:
    return None


def _early_stopping(reg: dict[str, Any], value: Any) -> None:
    reg["early_stopping"] = {"monitor": "val_acc", "mode": "max", **(reg.get("early_stopping") or {}),
                             "patience": value}


def _distillation(reg: dict[str, Any], value: Any) -> None:
    reg["distillation"] = {**(reg.get("distillation") or {}), "temperature": value}


def _ensemble_distillation(reg: dict[str, Any], value: Any) -> None:
    reg["distillation"] = {**(reg.get("distillation") or {}), "teachers": value}


def _self_distillation(reg: dict[str, Any], value: Any) -> None:
    reg["distillation"] = {**(reg.get("distillation") or {}), "teacher": None, "temperature": value}


def _stack(reg: dict[str, Any], value: Any) -> None:
    reg["dropout"] = 0.2
    reg["weight_decay"] = 0.05
    _early_stopping(reg, 20)


def _stack_residual(reg: dict[str, Any], value: Any) -> None:
    _stack(reg, value)
    reg["drop_path"] = 0.1


TECHNIQUES: dict[str, Technique] = {
    t.name: t
    for t in (
        Technique("baseline", "no regularization beyond the base config", None, _baseline),
        Technique("dropout", "dropout on hidden units (Srivastava et al. 2014)", 0.2, _setter("dropout")),
        Technique(
            "weight_decay",
            "decoupled weight decay, AdamW, biases/norms excluded (Loshchilov & Hutter 2019)",
            0.1,
            _setter("weight_decay"),
        ),
        Technique("l1", "L1 penalty on the weights, added to the loss", 1e-4, _setter("l1")),
        Technique("l2", "coupled L2 penalty on the weights, added to the loss", 5e-4, _setter("l2")),
        Technique(
            "early_stopping",
            "stop when validation accuracy stalls for `patience` epochs; restore the best weights",
            20,
            _early_stopping,
        ),
        Technique(
            "label_smoothing", "label smoothing (Szegedy et al. 2016)", 0.1, _setter("label_smoothing")
        ),
        Technique("mixup", "mixup of input pairs (Zhang et al. 2018)", 0.2, _setter("mixup_alpha")),
        Technique(
            "cutmix", "CutMix patches (Yun et al. 2019)", 1.0, _setter("cutmix_alpha"), image_only=True
        ),
        Technique("input_noise", "Gaussian noise added to the inputs", 0.1, _setter("input_noise")),
        Technique(
            "augment",
            "data augmentation policy (`auto`: the dataset's default, e.g. shifts of MNIST-1D signals)",
            "auto",
            _setter("augment"),
        ),
        Technique("max_norm", "per-unit max-norm weight constraint", 3.0, _setter("max_norm")),
        Technique(
            "drop_path",
            "DropPath / stochastic depth on residual blocks (Huang et al. 2016)",
            0.1,
            _setter("drop_path"),
            residual_only=True,
        ),
        Technique(
            "distillation",
            "knowledge distillation from a wider teacher (Hinton et al. 2015)",
            4.0,
            _distillation,
        ),
        Technique(
            "ensemble_distillation",
            "distillation from `value` teachers' averaged soft targets (Hinton et al. 2015)",
            3,
            _ensemble_distillation,
        ),
        Technique(
            "self_distillation",
            "distillation from a teacher of the student's own architecture (Furlanello et al. 2018)",
            4.0,
            _self_distillation,
        ),
        Technique(
            "stack",
            "recommended stack: dropout 0.2 + weight decay 0.05 + early stopping (+ DropPath 0.1); with"
            " augmentation + mixup 0.2 instead of dropout where the data has a policy",
            None,
            _stack,
        ),
    )
}

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


def get_technique(name: str) -> Technique:
    """The technique called ``name``; unknown names list the known ones."""
    try:
        return TECHNIQUES[name]
    except KeyError:
        raise ConfigError(
            invalid_argument("arms", f"technique names among {format_choices(TECHNIQUES)} or 'all'", name)
        ) from None


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
    """``"dropout"`` -> (dropout, 0.2); ``"dropout=0.5"`` -> (dropout, 0.5)."""
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
    return technique, parse_number(raw.strip())


def expand_arms(arms: list[str] | tuple[str, ...], model: str) -> list[str]:
    """Replace ``all`` by :data:`ALL_ARMS` (minus drop_path on non-residual models); keep order."""
    out: list[str] = []
    for arm in arms:
        names = [a for a in ALL_ARMS if a != "drop_path" or model in RESIDUAL_MODELS] if arm == "all" else [arm]
        for name in names:
            if name not in out:
                out.append(name)
    return out


def apply_arm(regularization: dict[str, Any], arm: str, model: str, dataset: str | None = None) -> dict[str, Any]:
    """A copy of ``regularization`` with ``arm`` applied (``stack`` adds DropPath on residual models
    and ``augment="auto"`` on the built-in signal and image datasets)."""
    technique, value = parse_arm(arm)
    if technique.residual_only and model not in RESIDUAL_MODELS:
        raise ConfigError(
            invalid_argument(
                "arms",
                f"a model with residual blocks ({format_choices(RESIDUAL_MODELS)}) for {technique.name!r}",
                model,
                shown=f"model={model!r}",
            )
        )
    reg = dict(regularization)
    if technique.name == "stack" and model in RESIDUAL_MODELS:
        _stack_residual(reg, value)
    else:
        technique.apply(reg, value)
    if technique.name == "stack" and dataset is not None and has_augmentation(dataset):
        _stack_augmented(reg, regularization)
    return reg


def _stack_augmented(reg: dict[str, Any], base: dict[str, Any]) -> None:
    """The stack on data with an augmentation policy: augmentation + mixup 0.2 + weight decay 0.05
    + early stopping, the base's dropout kept (the module docstring has the measurements)."""
    reg["augment"] = "auto"
    reg["mixup_alpha"] = 0.2
    reg["dropout"] = base.get("dropout", 0.0)


def has_augmentation(dataset: str) -> bool:
    """Whether ``augment=auto`` means something for ``dataset`` (signals and images do)."""
    from reglab.augment.policies import DATASET_AUGMENTATION

    return dataset in DATASET_AUGMENTATION
