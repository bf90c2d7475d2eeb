"""Studies and sweeps: typed configs, plans of run specs, runners and the run store."""

from reglab.experiments.spec import (
    DataSpec,
    DistillationSpec,
    EarlyStoppingSpec,
    ModelSpec,
    OptimizerSpec,
    RegularizationSpec,
    RunSpec,
)

__all__ = [
    "DataSpec",
    "DistillationSpec",
    "EarlyStoppingSpec",
    "ModelSpec",
    "OptimizerSpec",
    "RegularizationSpec",
    "RunSpec",
]
