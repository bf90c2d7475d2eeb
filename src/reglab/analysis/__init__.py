"""Analysis of runs: the one definition of every derived number (:mod:`.quantities`: gaps, best
epoch, selection on validation), overfitting diagnosis, statistics across seeds (paired effects,
Holm), arm effects, and the regularization strategy recommender.

Light to import: numpy/scipy/torch load only inside the functions that need them.
"""

from __future__ import annotations

from reglab.analysis.diagnosis import VERDICTS, Diagnosis, diagnose
from reglab.analysis.effects import ArmSummary, Sweep, find_sweeps, summarize_arms
from reglab.analysis.recommend import FAMILIES, Recommendation, Step, recommend
from reglab.analysis import quantities
from reglab.analysis.stats import diff_ci, holm, mean_ci, paired_diff_ci
from reglab.experiments.weights import weight_histogram

__all__ = [
    "VERDICTS",
    "Diagnosis",
    "diagnose",
    "mean_ci",
    "diff_ci",
    "paired_diff_ci",
    "holm",
    "quantities",
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
