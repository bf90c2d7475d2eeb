"""Vectorized sweeps: train K regularization configs of one architecture as one batched model."""

from reglab.experiments.vectorized.allocator import reuse_freed_memory
from reglab.experiments.vectorized.engine import MemberHyper, evaluate_stacked, fit_stacked
from reglab.experiments.vectorized.optim import StackedOptimizer
from reglab.experiments.vectorized.runner import SUPPORTED_MODELS, run_vectorized, supports
from reglab.experiments.vectorized.stacked_mlp import StackedMLP, compile_stack

__all__ = [
    "SUPPORTED_MODELS",
    "reuse_freed_memory",
    "run_vectorized",
    "supports",
    "MemberHyper",
    "StackedMLP",
    "StackedOptimizer",
    "compile_stack",
    "evaluate_stacked",
    "fit_stacked",
]
