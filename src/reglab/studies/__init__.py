"""Orchestration above analysis and report: run a study or sweep end to end, the distillation
study, and the uncertainty evaluation of a stored run.

* :func:`run_study` (``reglab study`` / ``reglab sweep``): plan -> runners -> run store ->
  diagnosis (``reglab.analysis``) -> report (``reglab.report``).
* :func:`run_distillation` (``reglab distill``): ``run_study`` of the study
  :func:`distillation_config` builds (student baseline, teacher, distilled, ensemble, born-again arms).
* :func:`evaluate_uncertainty` (``reglab uncertainty``): deterministic vs MC-dropout calibration;
  :func:`evaluate_regression_uncertainty` the same for a regression run (RMSE, log-likelihood, tau).
* :func:`run_tune` (``reglab tune``): Optuna search of regularization strengths, chosen on validation.

The layers below never import this package (``tests/test_layers.py``). The names load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "StudySummary": "study",
    "run_study": "study",
    "distillation_config": "distillation",
    "run_distillation": "distillation",
    "UncertaintyResult": "uncertainty",
    "evaluate_uncertainty": "uncertainty",
    "RegressionUncertaintyResult": "uncertainty_regression",
    "evaluate_regression_uncertainty": "uncertainty_regression",
    "TuneConfig": "tune",
    "run_tune": "tune",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"reglab.studies.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'reglab.studies' has no attribute {name!r}")
