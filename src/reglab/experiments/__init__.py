"""Studies and sweeps: typed configs, plans of run specs, runners and the run store.

Specs, configs, plans, the runners (``run_one``, worker processes, the vectorized engine, Ray) and
the run store. The orchestration that also analyses and reports (``run_study``, the distillation
study, the uncertainty evaluation) lives one layer up in :mod:`reglab.studies`. The names below
load on first use, so importing the package stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from reglab.experiments.spec import (
    DataSpec,
    DistillationSpec,
    EarlyStoppingSpec,
    ModelSpec,
    OptimizerSpec,
    RegularizationSpec,
    RunSpec,
)

_LAZY = {
    "StudyConfig": "config",
    "SweepConfig": "config",
    "load_config": "config",
    "to_toml": "config",
    "plan": "plan",
    "plan_study": "plan",
    "plan_sweep": "plan",
    "RunResult": "execute",
    "run_one": "execute",
    "RunStore": "store",
    "StoredRun": "store",
}

__all__ = [
    "DataSpec",
    "DistillationSpec",
    "EarlyStoppingSpec",
    "ModelSpec",
    "OptimizerSpec",
    "RegularizationSpec",
    "RunSpec",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"reglab.experiments.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'reglab.experiments' has no attribute {name!r}")
