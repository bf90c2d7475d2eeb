"""Stochastic depth (drop path): drop a residual branch for whole samples or the whole batch.

Reference:
    Huang, Sun, Liu, Sedra, Weinberger. "Deep Networks with Stochastic Depth". ECCV 2016
    (arXiv:1603.09382). Semantics follow torchvision's ``stochastic_depth`` ("row"/"batch") and
    timm's ``drop_path`` (``scale_by_keep``).
"""

from __future__ import annotations

import torch

from reglab._validate import check_int
from reglab.errors import invalid_argument
from reglab.functional._checks import choice, floating, probability

__all__ = ["drop_path", "drop_path_rates", "DROP_PATH_MODES", "DROP_PATH_SCHEDULES"]

DROP_PATH_MODES = ("row", "batch")
DROP_PATH_SCHEDULES = ("linear", "uniform")


def drop_path(
    input: torch.Tensor,
    p: float = 0.1,
    mode: str = "row",
    scale_by_keep: bool = True,
    *,
    training: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Zero the residual branch ``input`` per sample (``"row"``) or for the batch (``"batch"``).

    Apply it to the output of a residual block's branch before the addition:
    ``x + drop_path(branch(x), p, training=...)``. With ``scale_by_keep`` the surviving branches
    are scaled by ``1 / (1 - p)`` so evaluation is the identity (Huang et al. instead scale by the
    survival probability at test time; the two are equal in expectation). ``p = 1`` returns zeros
    in training (no scaling is attempted).

    Args:
        input: ``(N, ...)``, at least two dimensions (a batch of branch outputs); the first is the
            batch in ``"row"`` mode.
        p: probability of dropping the branch, in [0, 1]. Defaults to 0.1.
        mode: ``"row"`` (one draw per sample) or ``"batch"`` (one draw for the whole batch).
            Defaults to ``"row"``.
        scale_by_keep: scale survivors by ``1 / (1 - p)``. Defaults to True.
        training: apply (True) or return the input (False).
        generator: draws the mask. Defaults to None (the global RNG).
    """
    p = probability("p", p)
    mode = choice("mode", mode, DROP_PATH_MODES)
    choice("scale_by_keep", scale_by_keep, (True, False))
    floating("input", input)
    if input.dim() < 2:
        raise ValueError(
            invalid_argument(
                "input", "a tensor with at least 2 dimensions (batch first)", input.dim(),
                shown=f"input.ndim={input.dim()} (shape {tuple(input.shape)})",
            )
        )
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    ndim = input.dim()
    shape = (input.shape[0],) + (1,) * (ndim - 1) if mode == "row" else (1,) * ndim
    mask = input.new_empty(shape)  # batched under vmap (randomness="different")
    mask.bernoulli_(1.0 - p, generator=generator)
    if scale_by_keep:
        mask.div_(1.0 - p)
    return input * mask


def drop_path_rates(max_rate: float, depth: int, schedule: str = "linear") -> list[float]:
    """Per-block drop rates for a network of ``depth`` residual blocks.

    ``"linear"`` is Huang et al.'s linear decay rule in timm's form: block ``i`` (0-based) gets
    ``max_rate * i / (depth - 1)``, so the first block is never dropped and the deepest one is
    dropped with ``max_rate``; a single block (``depth = 1``) is the deepest and gets
    ``[max_rate]``. ``"uniform"`` gives every block ``max_rate``.

    Args:
        max_rate: the drop rate of the deepest block, in [0, 1].
        depth: number of blocks, an integer >= 1.
        schedule: ``"linear"`` or ``"uniform"``. Defaults to ``"linear"``.

    >>> drop_path_rates(0.2, 3)
    [0.0, 0.1, 0.2]
    """
    max_rate = probability("max_rate", max_rate)
    depth = check_int("depth", depth, low=1)
    schedule = choice("schedule", schedule, DROP_PATH_SCHEDULES)
    if schedule == "uniform" or depth == 1:
        return [max_rate] * depth
    return [max_rate * i / (depth - 1) for i in range(depth - 1)] + [max_rate]
