"""``recommend()``: validate the facts, pick the scenario's rule, adapt it to the run's current
regularization and to what a store measured, and write the summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from reglab._validate import check_choice, check_int, check_probability
from reglab.analysis.effects import regularization_setting
from reglab.analysis.recommend.evidence import apply_evidence
from reglab.analysis.recommend.problem import (
    FAMILIES,
    FAMILY_MODALITY,
    FAR_TOO_LARGE_RATIO,
    LIKELY_OVERFIT_RATIO,
    MODALITIES,
    TASKS,
    Plan,
    Problem,
    Recommendation,
    Step,
    family_of_model,
    observed_verdict,
    technique_step,
)
from reglab.analysis.recommend.rules_image import image_plan
from reglab.analysis.recommend.rules_regression import regression_plan
from reglab.analysis.recommend.rules_rnn import rnn_plan
from reglab.analysis.recommend.rules_tabular import signal_plan, tabular_plan
from reglab.analysis.recommend.rules_text import text_plan
from reglab.analysis.recommend.rules_underfit import underfit_plan
from reglab.errors import invalid_argument
from reglab.techniques import technique_for_field

__all__ = ["recommend", "modality_of_dataset", "modality_of_shape", "NO_FLIP_DATASETS", "SUGGESTED_MAX_RATIO", "RAISE_FACTOR", "DROPOUT_MAX"]

#: The size suggested instead of a far-too-large tabular or signal model, in parameters per example.
SUGGESTED_MAX_RATIO = 100
#: Overfitting with a technique already at (or above) its starting value: weight decay, input
#: noise, mixup alpha ... are multiplied by this (about half a decade, a log-grid step).
RAISE_FACTOR = 3.0
#: Dropout is raised by 0.1 per step up to this rate (Srivastava et al. 2014's 0.5).
DROPOUT_MAX = 0.5


def modality_of_dataset(name: str) -> str | None:
    """The modality of a built-in dataset from its input shape: (C, H, W) -> ``"image"``, one axis
    of at least 32 values -> ``"signal"`` (MNIST-1D), else ``"tabular"``; None for other names."""
    from reglab.data.registry import sources

    for source in sources():
        if source.name == name:
            return modality_of_shape(source.input_shape)
    return None


def modality_of_shape(shape: Sequence[int]) -> str:
    """The modality of inputs of ``shape`` (one example): (C, H, W) -> ``"image"``, one axis of at
    least 32 values -> ``"signal"``, else ``"tabular"`` (the rule of :func:`modality_of_dataset`,
    also for a user's data)."""
    if len(shape) == 3:
        return "image"
    return "signal" if len(shape) >= 1 and shape[-1] >= 32 else "tabular"


#: Built-in image datasets whose labels a horizontal flip changes (digits).
NO_FLIP_DATASETS = ("digits", "mnist", "mnist5k")


def recommend(
    family: str,
    n_train: int,
    num_classes: int,
    n_params: int,
    train_acc: float | None = None,
    val_acc: float | None = None,
    *,
    fine_tuning: bool = False,
    modality: str | None = None,
    task: str = "classification",
    residual: bool | None = None,
    flips: bool = True,
    current: Mapping[str, Any] | None = None,
    measured: Sequence[Any] | None = None,
) -> Recommendation:
    """An ordered regularization strategy from published recipes, with starting values, the
    reason and the source of each step.

    Scenarios (one ``rules_*`` module each, where the recipe's numbers are listed): image
    classification from scratch (pretrained weights first on fewer than 100,000 images, then
    crops and flips, TrivialAugment/RandAugment, mixup/CutMix, label smoothing, stochastic depth:
    torchvision's and timm's recipes, DeiT) or fine-tuning (BiT); text transformers fine-tuned
    BERT-style (lr 2e-5 to 5e-5, weight decay 0.01, warmup 10%, 3 epochs, early stopping on
    evaluations, no extra dropout: Devlin et al. 2019) or trained from scratch; LSTMs (AWD-LSTM,
    Merity et al. 2018); small tabular data (weight decay, early stopping, dropout, a smaller
    model: Kadra et al. 2021, Gorishniy et al. 2021); signals; underfitting (remove
    regularization, a bigger model, longer training, a learning-rate check). A good fit keeps only
    the recipe's base steps.

    Args:
        family: ``"mlp"``, ``"cnn"``, ``"transformer"`` or ``"rnn"``, or a model name mapped to
            one (``"resnet50"``, ``"lstm"``, ``"bert"``).
        n_train: number of training examples (>= 1).
        num_classes: number of classes, the vocabulary size for a language model (>= 2).
        n_params: number of trainable parameters (>= 1).
        train_acc: observed final training accuracy in [0, 1]; give it with ``val_acc``.
            Defaults to None (judge from the size ratio alone).
        val_acc: observed final validation accuracy in [0, 1]. Defaults to None.
        fine_tuning: the model starts from pretrained weights. Defaults to False.
        modality: ``"image"``, ``"text"``, ``"tabular"`` or ``"signal"``. Defaults to None: image
            for ``cnn``, text for ``transformer`` and ``rnn``, tabular for ``mlp``.
        task: ``"classification"``, ``"language_model"`` or ``"regression"`` (``num_classes`` 1, no
            accuracies; weight decay, early stopping on the validation loss, dropout, a smaller
            model: ``rules_regression``). Defaults to ``"classification"``.
        residual: the model has residual blocks. Defaults to None: True for ``resnet*`` names and
            transformers.
        flips: a horizontal flip keeps the label. Defaults to True.
        current: the regularization the observed run already used (``RegularizationSpec``
            fields). Steps already applied say so; while overfitting, their strength is raised
            (x :data:`RAISE_FACTOR`, dropout + 0.1 up to :data:`DROPOUT_MAX`). Defaults to None.
        measured: ``ArmSummary`` records of a study on the user's data
            (``reglab.analysis.effects.summarize_arms``): steps are reordered by them (see
            ``evidence.py``). Defaults to None.
    """
    arch = family.lower() if isinstance(family, str) else family
    family = family_of_model(family) if isinstance(family, str) else check_choice("family", family, FAMILIES)
    n_train = check_int("n_train", n_train, low=1)
    task = check_choice("task", task, TASKS)
    num_classes = check_int("num_classes", num_classes, low=1 if task == "regression" else 2)
    n_params = check_int("n_params", n_params, low=1)
    modality = check_choice("modality", modality, MODALITIES) if modality is not None else FAMILY_MODALITY[family]
    if task == "regression" and (train_acc is not None or val_acc is not None):
        name = "train_acc" if train_acc is not None else "val_acc"
        raise ValueError(invalid_argument(name, "None for task='regression' (a regression has no accuracy)",
                                          train_acc if train_acc is not None else val_acc))
    if (train_acc is None) != (val_acc is None):
        missing = "val_acc" if val_acc is None else "train_acc"
        raise ValueError(invalid_argument(
            missing, "a number in [0, 1] (give train_acc and val_acc together)", None))
    if train_acc is not None:
        train_acc = check_probability("train_acc", train_acc)
        val_acc = check_probability("val_acc", val_acc)
        verdict = observed_verdict(train_acc, val_acc, num_classes)
    else:
        verdict = "unknown"
    if residual is None:
        residual = arch.startswith("resnet") or family == "transformer"
    p = Problem(family, arch, modality, task, n_train, num_classes, n_params, train_acc, val_acc,
                bool(fine_tuning), bool(residual), bool(flips), verdict)

    plan = _plan(p, current)
    steps = plan.steps if p.verdict != "good fit" else [s for s in plan.steps if s.core]
    if current and p.verdict != "underfitting":
        steps = _account_for_current(steps, current, raise_=p.verdict in ("overfitting", "mild overfitting"))
    avoid, notes = list(plan.avoid), list(plan.notes)
    if measured:
        steps, hurt = apply_evidence(steps, measured)
        avoid += hurt
    summary = _summary(p, plan, steps, current, measured)
    kept = (dict(current) if current and p.verdict != "underfitting"
            and regularization_setting(current) != "none" else None)
    return Recommendation(p, summary, steps, _warnings(p), avoid, notes, current=kept,
                          scenario=plan.scenario)


def _plan(p: Problem, current: Mapping[str, Any] | None) -> Plan:
    if p.task == "regression":
        return regression_plan(p)
    if p.verdict == "underfitting":
        return underfit_plan(p, current)
    if p.family == "rnn":
        return rnn_plan(p)
    if p.modality == "image":
        return image_plan(p)
    if p.modality == "text":
        return text_plan(p)
    if p.modality == "tabular":
        return tabular_plan(p)
    return signal_plan(p)


def _warnings(p: Problem) -> list[str]:
    if p.fine_tuning or p.ratio <= FAR_TOO_LARGE_RATIO:
        return []
    head = (f"The model is far too large for the data trained from scratch: {p.size_text()}, "
            f"above {FAR_TOO_LARGE_RATIO:,}. It can memorise the training set outright (Zhang et "
            "al. 2017) and regularization only partly compensates; ")
    if p.modality in ("image", "text"):
        return [head + "start from pretrained weights (the first step), or use a smaller "
                "architecture of the same family if none exist."]
    return [head + f"use a model under {p.n_train * SUGGESTED_MAX_RATIO:,} parameters "
            f"({SUGGESTED_MAX_RATIO} per example) or collect more data."]


def _summary(p: Problem, plan: Plan, steps: list[Step], current: Any, measured: Any) -> str:
    scenario = plan.scenario[0].upper() + plan.scenario[1:]
    observed = p.observed_text()
    if p.verdict == "underfitting":
        text = f"Underfitting ({observed}): {plan.headline}"
    elif p.verdict == "good fit":
        names = ", ".join(s.technique for s in steps)
        text = (f"Good fit ({observed}). {scenario}: keep light regularization ({names}); more "
                "would likely cost accuracy.")
    elif p.verdict == "unknown" and p.fine_tuning:
        text = (f"No accuracies observed; a pretrained model with {p.size_text()}. "
                f"{scenario}: {plan.headline}")
    elif p.verdict == "unknown":
        lead = "likely" if p.ratio >= LIKELY_OVERFIT_RATIO else "possible"
        head = "A regression target" if p.task == "regression" else "No accuracies observed"
        text = (f"{head}; with {p.size_text()}, overfitting is {lead}. "
                f"{scenario}: {plan.headline}")
    else:
        kind = "Overfitting" if p.verdict == "overfitting" else "Mild overfitting"
        text = f"{kind} ({observed}; {p.size_text()}). {scenario}: {plan.headline}"
    if current:
        setting = regularization_setting(current)
        if setting != "none":
            text += f" Current regularization: {setting}."
    if measured:
        text += " Ordered by what your store measured where it measured a step."
    return text


def _g(x: float) -> float:
    """Two significant digits: 0.030000000000000002 -> 0.03."""
    return float(f"{x:.2g}")


def _account_for_current(steps: list[Step], current: Mapping[str, Any], *, raise_: bool) -> list[Step]:
    """Steps already applied by the observed run say so; while overfitting, raise them."""
    out = []
    for step in steps:
        new = step
        for key, start in step.settings.items():
            cur = current.get(key)
            if key == "early_stopping":
                if cur:
                    keep = ", ".join(f"{k} {v}" for k, v in cur.items() if k in ("monitor", "patience"))
                    new = replace(step, arm=None, reason=f"Already on ({keep}); keep it.")
                continue
            technique = technique_for_field(key) if step.is_technique else None
            if technique is None or not isinstance(start, (int, float)):
                continue
            if not cur or not start or cur < start:
                continue
            if not raise_ or key == "label_smoothing":
                new = replace(step, settings={key: cur}, arm=None,
                              reason=f"Already at {cur:g}; keep it. " + step.reason)
            elif key == "dropout" and cur >= DROPOUT_MAX:
                new = replace(step, settings={key: cur}, arm=None,
                              reason=f"Already at {cur:g}, the usual maximum; rely on the other steps.")
            else:
                up = _g(min(cur + 0.1, DROPOUT_MAX)) if key == "dropout" else _g(cur * RAISE_FACTOR)
                if technique.range is not None and not technique.range.contains(up):
                    continue
                how = f"(at most {DROPOUT_MAX:g})" if key == "dropout" else "one step up a log grid"
                raised = technique_step(technique.name, up,
                                        f"Already at {cur:g} and the model still overfits: raise it "
                                        f"to {up:g}, {how}.", core=step.core)
                new = replace(raised, source=step.source)
        out.append(new)
    return out


