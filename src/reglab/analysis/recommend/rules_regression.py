"""Regression (a real-valued target, trained with MSE or Gaussian NLL).

Decoupled weight decay 0.01 (Kadra et al. 2021's range for MLPs on tabular data, which holds
regression sets), early stopping on the validation loss (patience 16: Gorishniy et al. 2021, who
stop regression runs on the validation RMSE), dropout at the low rates of Gal & Ghahramani 2016's
UCI regression benchmarks (p chosen from {0.005, 0.01, 0.05, 0.1}: 0.05 to start), then a smaller
model. Mixup, CutMix and label smoothing are left out: they mix or soften class labels, and a
regression study refuses them.
"""

from __future__ import annotations

from dataclasses import replace

from reglab.analysis.recommend.problem import LIKELY_OVERFIT_RATIO, Plan, Problem, advice_step, technique_step

__all__ = ["regression_plan", "REGRESSION_PATIENCE", "REGRESSION_DROPOUT"]

REGRESSION_PATIENCE = 16
REGRESSION_DROPOUT = 0.05
AVOID = ("mixup, CutMix and label smoothing: they act on class labels, and a regression target has "
         "none (a regression study refuses them).")


def regression_plan(p: Problem) -> Plan:
    """The plan for a regression target (``p.task == "regression"``), whatever the modality."""
    stop = technique_step(
        "early_stopping", REGRESSION_PATIENCE,
        f"Stop when the validation loss has not improved for {REGRESSION_PATIENCE} epochs and keep "
        "the best weights (a regression run has no accuracy: it monitors val_loss).",
        "gorishniy2021", "prechelt1998")
    stop = replace(stop, settings={"early_stopping": {"monitor": "val_loss", "patience": REGRESSION_PATIENCE}})
    steps = [
        technique_step(
            "weight_decay", 0.01,
            "Decoupled weight decay 0.01 (AdamW), inside the range tuned for MLPs on tabular "
            "data; biases and normalization weights not decayed.", "kadra2021", "loshchilov2019"),
        stop,
        technique_step(
            "dropout", REGRESSION_DROPOUT,
            f"If the gap persists: dropout {REGRESSION_DROPOUT:g}; regression nets take low rates "
            "(0.005-0.1 on the UCI benchmarks), and the same dropout gives MC-dropout predictive "
            "intervals (reglab uncertainty).", "gal2016mc", "srivastava2014", core=False),
    ]
    if p.ratio > LIKELY_OVERFIT_RATIO:
        steps.append(advice_step(
            "smaller model", {"width_factor": 0.5},
            f"With {p.size_text()}, halve the width (or remove a layer) and compare the "
            "validation loss.", "gorishniy2021", core=False))
    return Plan("regression", "weight decay and early stopping on the validation loss first, then "
                "dropout and a smaller model.", steps, avoid=[AVOID])
