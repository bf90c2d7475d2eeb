"""Underfitting: the model does not fit even its training data (Goodfellow et al. 2016, ch. 11;
Smith 2018). In order: remove regularization, a bigger model, longer training, and a check of the
learning rate (a range test). Fine-tuning a text transformer: the top of BERT's learning-rate range
(5e-5) and 4 epochs (Devlin et al. 2019)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reglab.analysis.recommend.problem import Plan, Problem, advice_step
from reglab.analysis.recommend.rules_text import FINE_TUNING_LR_RANGE
from reglab.techniques import spec_fields, technique_for_field

__all__ = ["underfit_plan"]


def _set_fields(current: Mapping[str, Any] | None) -> dict[str, Any]:
    """The regularization fields ``current`` sets, each at its technique's ``off`` value."""
    out: dict[str, Any] = {}
    for name in spec_fields():
        technique = technique_for_field(name)
        value = (current or {}).get(name, ((current or {}).get("custom") or {}).get(name, technique.off))
        if technique.is_set(value):
            out[name] = technique.off
    return out


def underfit_plan(p: Problem, current: Mapping[str, Any] | None) -> Plan:
    off = _set_fields(current)
    steps = [advice_step(
        "remove regularization", off,
        ("Turn off what the run used (" + ", ".join(off) + ")" if off else
         "Remove dropout, augmentation, label smoothing and mixup, and keep weight decay at 1e-4 "
         "or less")
        + ": every regularizer makes fitting the training data harder, and it does not fit yet.",
        "goodfellow2016", "smith2018")]
    if p.fine_tuning and p.modality == "text":
        steps.append(advice_step(
            "fine-tuning learning rate", {"lr": FINE_TUNING_LR_RANGE[1], "epochs": 4},
            "The top of BERT's range (5e-5) and 4 epochs, its longest setting.", "devlin2019"))
    steps += [
        advice_step(
            "bigger model", {},
            f"With {p.size_text()}, a wider or deeper {p.family} has room to fit; add "
            "regularization back only once a gap appears.", "goodfellow2016"),
        advice_step(
            "train longer", {"epochs_factor": 2},
            "If the training loss still fell at the last epoch, twice the epochs.", "goodfellow2016"),
        advice_step(
            "learning-rate check", {},
            "Run a learning-rate range test (raise the rate every few steps until the loss "
            "diverges; train at a rate a few times below that): a rate far too low underfits in "
            "the epochs given, one too high never settles.", "smith2018"),
    ]
    return Plan("underfitting", "remove regularization first, then a bigger model, longer "
                "training and a learning-rate check.", steps)
