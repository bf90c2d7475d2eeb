"""Losses that regularize through the targets: label smoothing, soft targets, distillation.

- :func:`label_smoothing_cross_entropy` / :class:`LabelSmoothingCrossEntropy` (registered as
  ``"label_smoothing"``): Szegedy et al. 2016, arXiv:1512.00567.
- :func:`soft_target_cross_entropy`: cross-entropy against a distribution (mixup/CutMix targets).
- :func:`distillation_loss` / :class:`DistillationLoss` (``"distillation"``): Hinton et al. 2015,
  arXiv:1503.02531, with ensemble teachers.
- :func:`mse` / :func:`gaussian_nll`: regression losses (one output, or mean and log-variance).
"""

from __future__ import annotations

from reglab.losses.distillation import DistillationLoss, distillation_loss
from reglab.losses.label_smoothing import (
    LabelSmoothingCrossEntropy,
    label_smoothing_cross_entropy,
    soft_target_cross_entropy,
)
from reglab.losses.regression import REGRESSION_LOSSES, gaussian_nll, mse, regression_outputs

__all__ = [
    "label_smoothing_cross_entropy",
    "soft_target_cross_entropy",
    "LabelSmoothingCrossEntropy",
    "distillation_loss",
    "DistillationLoss",
    "mse",
    "gaussian_nll",
    "regression_outputs",
    "REGRESSION_LOSSES",
]
