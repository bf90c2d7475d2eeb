"""Analysis of runs: overfitting diagnosis from curves, statistics across seeds, arm effects, and
the regularization strategy recommender.

Light to import: numpy/scipy/torch load only inside the functions that need them.
"""

from __future__ import annotations

from reglab.analysis.diagnosis import VERDICTS, Diagnosis, diagnose
from reglab.analysis.effects import ArmSummary, Sweep, find_sweeps, summarize_arms
from reglab.analysis.recommend import FAMILIES, Recommendation, Step, recommend
from reglab.analysis.stats import diff_ci, mean_ci
from reglab.experiments.weights import weight_histogram

__all__ = [
    "VERDICTS",
    "Diagnosis",
    "diagnose",
    "mean_ci",
    "diff_ci",
    "ArmSummary",
    "Sweep",
    "summarize_arms",
    "find_sweeps",
    "FAMILIES",
    "Step",
    "Recommendation",
    "recommend",
    "weight_histogram",
]
