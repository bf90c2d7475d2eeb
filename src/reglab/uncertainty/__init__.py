"""Uncertainty: MC dropout predictions and calibration metrics.

* :func:`mc_predict` - Monte Carlo dropout (Gal & Ghahramani 2016, ICML, arXiv:1506.02142): mean
  probabilities, per-class variance, predictive entropy, mutual information (BALD) and the most
  uncertain examples from ``T`` stochastic passes, batch norm kept in eval mode.
* :func:`expected_calibration_error`, :func:`reliability_bins`, :func:`negative_log_likelihood`,
  :func:`brier_score`, :func:`calibration_metrics` - calibration of predicted probabilities (Guo,
  Pleiss, Sun & Weinberger 2017, ICML, arXiv:1706.04599; Brier 1950).
* :func:`mc_predict_regression`, :func:`gaussian_log_likelihood`, :func:`choose_tau`,
  :func:`interval_coverage` - MC dropout for regression: predictive mean and variance with a
  model precision tau chosen on validation data, the paper's predictive log-likelihood.

Evaluating a stored run (``reglab uncertainty``) is orchestration: ``reglab.studies.uncertainty``
(classification) and ``reglab.studies.uncertainty_regression`` (regression).

This package imports torch only.
"""

from __future__ import annotations

from reglab.uncertainty.calibration import (
    CalibrationMetrics,
    ReliabilityBins,
    brier_score,
    calibration_metrics,
    expected_calibration_error,
    negative_log_likelihood,
    reliability_bins,
)
from reglab.uncertainty.mc_regression import (
    TAU_GRID_POINTS,
    MCRegression,
    choose_tau,
    gaussian_log_likelihood,
    interval_coverage,
    mc_predict_regression,
)
from reglab.uncertainty.mc import (
    RANK_BY,
    MCPrediction,
    deterministic_predict,
    mc_dropout_mode,
    mc_predict,
    mutual_information,
    predictive_entropy,
)

__all__ = [
    "MCPrediction",
    "RANK_BY",
    "mc_predict",
    "deterministic_predict",
    "mc_dropout_mode",
    "predictive_entropy",
    "mutual_information",
    "ReliabilityBins",
    "CalibrationMetrics",
    "reliability_bins",
    "expected_calibration_error",
    "negative_log_likelihood",
    "brier_score",
    "calibration_metrics",
    "MCRegression",
    "TAU_GRID_POINTS",
    "mc_predict_regression",
    "gaussian_log_likelihood",
    "choose_tau",
    "interval_coverage",
]
