"""A small, storable summary of a model's weights: the histogram behind the L1-vs-L2 figure.

L1 penalties drive many weights exactly to (or very near) zero - a spike at 0 - while L2 / weight
decay shrinks all weights proportionally - a narrower bell without the spike (Tibshirani 1996,
"Regression shrinkage and selection via the lasso", JRSS-B 58; Goodfellow et al. 2016, *Deep
Learning*, section 7.1). The run store keeps this summary as ``final["weight_hist"]`` so the
report can show both shapes without saving whole models.
"""

from __future__ import annotations

import math
from typing import Any

from reglab._validate import check_int, check_positive
from reglab.errors import invalid_argument

__all__ = ["weight_histogram", "NEAR_ZERO"]

#: A weight counts as "near zero" (pruned by L1) when its magnitude is below this.
NEAR_ZERO = 1e-3


def weight_histogram(source: Any, bins: int = 60, *, near_zero: float = NEAR_ZERO) -> dict[str, Any]:
    """Histogram of the weights with ``dim >= 2`` (the decayed ones; biases/norms excluded).

    Args:
        source: a ``torch.nn.Module`` or an iterable of tensors.
        bins: number of bins over ``[-m, m]`` with ``m`` the largest magnitude. Defaults to 60.
        near_zero: magnitude below which a weight counts as zero. Defaults to 1e-3.

    Returns:
        ``{"edges": [bins + 1 floats], "counts": [bins ints], "n": int, "near_zero": fraction
        of weights with |w| < near_zero, "abs_mean": mean |w|, "l2_norm": sqrt(sum w^2)}``.
    """
    import torch

    check_int("bins", bins, low=2)
    check_positive("near_zero", near_zero)
    tensors = list(source.parameters()) if isinstance(source, torch.nn.Module) else list(source)
    flat = [t.detach().reshape(-1).double().cpu() for t in tensors if t.dim() >= 2]
    if not flat:
        raise ValueError(invalid_argument(
            "source", "a model or tensors with at least one weight of dim >= 2", source,
            shown=f"{len(tensors)} tensors, none with dim >= 2"))
    w = torch.cat(flat)
    m = float(w.abs().max())
    m = m if m > 0 else 1.0
    counts = torch.histc(w, bins=bins, min=-m, max=m)
    edges = torch.linspace(-m, m, bins + 1)
    return {
        "edges": [float(e) for e in edges],
        "counts": [int(c) for c in counts],
        "n": int(w.numel()),
        "near_zero": float((w.abs() < near_zero).double().mean()),
        "abs_mean": float(w.abs().mean()),
        "l2_norm": math.sqrt(float((w * w).sum())),
    }
