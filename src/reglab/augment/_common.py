"""Helpers the per-modality augmentations share: input checks, per-sample draws, interpolation.

Every random draw goes through the caller's ``torch.Generator`` on that generator's device (the
CPU's default generator when None) and is then moved to the input's device, so a seeded generator
reproduces a batch exactly whatever device the batch lives on.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from reglab._validate import check_ndim, check_range
from reglab.augment.sampling import generator_device
from reglab.errors import invalid_argument

__all__ = ["check_finite", "check_tensor", "uniform", "randint", "bernoulli", "normal", "interp_last"]


def check_finite(name: str, value: Any, low: float | None = None, high: float | None = None, *,
                 low_inclusive: bool = True, high_inclusive: bool = True) -> float:
    """:func:`reglab._validate.check_range` that also refuses infinities (a magnitude must be finite)."""
    try:
        out = check_range(name, value, low, high, low_inclusive=low_inclusive, high_inclusive=high_inclusive)
        if math.isinf(out):
            raise ValueError
    except ValueError:
        lo = "(-inf" if low is None else ("[" if low_inclusive else "(") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}" + ("]" if high_inclusive else ")")
        raise ValueError(invalid_argument(name, f"a finite number in {lo}, {hi}", value)) from None
    return out


def check_tensor(name: str, x: object, ndims: tuple[int, ...], *, floating: bool = True) -> Tensor:
    """``x`` as a tensor with one of ``ndims`` dimensions (and a floating dtype when asked)."""
    if not isinstance(x, Tensor):
        raise ValueError(invalid_argument(name, "a torch.Tensor", x, shown=f"{name} of type {type(x).__name__}"))
    check_ndim(name, x, ndims)
    if floating and not torch.is_floating_point(x):
        raise ValueError(invalid_argument(name, "a floating-point tensor", x, shown=f"{name}.dtype={x.dtype}"))
    return x


def uniform(n: int, low: float, high: float, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """``n`` float32 draws from U[low, high), one per sample, on ``device``."""
    u = torch.rand(n, generator=generator, device=generator_device(generator))
    return (low + (high - low) * u).to(device)


def randint(n: int, low: Tensor | int, high: Tensor | int, generator: torch.Generator | None,
            device: torch.device) -> Tensor:
    """``n`` int64 draws, each uniform over ``[low, high]`` (inclusive; per-sample bounds allowed).

    Fixed bounds use one ``torch.randint`` call; per-sample bounds scale a float64 uniform.
    """
    if isinstance(low, int) and isinstance(high, int):
        return torch.randint(low, high + 1, (n,), generator=generator, device=generator_device(generator)).to(device)
    u = torch.rand(n, generator=generator, device=generator_device(generator), dtype=torch.float64).to(device)
    low_t = torch.as_tensor(low, device=device, dtype=torch.float64)
    high_t = torch.as_tensor(high, device=device, dtype=torch.float64)
    return (low_t + torch.floor(u * (high_t - low_t + 1))).long()


def bernoulli(n: int, p: float, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """``n`` booleans, each True with probability ``p``."""
    return (torch.rand(n, generator=generator, device=generator_device(generator)) < p).to(device)


def normal(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device,
           dtype: torch.dtype = torch.float32) -> Tensor:
    """Standard normal draws of ``shape``."""
    return torch.randn(shape, generator=generator, device=generator_device(generator), dtype=dtype).to(device)


def interp_last(x: Tensor, src: Tensor, *, outside: str = "edge") -> Tensor:
    """Sample ``x`` along its last axis at fractional positions ``src`` by linear interpolation.

    Args:
        x: ``(N, ..., L)``.
        src: ``(N, L_out)`` source positions per sample (shared by the middle axes).
        outside: ``"edge"`` repeats the end values beyond ``[0, L - 1]``; ``"zero"`` reads zeros there.

    Returns:
        ``(N, ..., L_out)`` in ``x``'s dtype. An integer position returns that sample exactly.
    """
    length = x.shape[-1]
    pos = src.to(torch.float64)
    inside = (pos >= 0) & (pos <= length - 1)
    pos = pos.clamp(0, length - 1)
    i0 = pos.floor().long().clamp(max=length - 1)
    i1 = (i0 + 1).clamp(max=length - 1)
    w = (pos - i0).to(x.dtype)
    middle = x.shape[1:-1]
    view = (x.shape[0],) + (1,) * len(middle) + (src.shape[-1],)
    expand = (x.shape[0], *middle, src.shape[-1])
    a = x.gather(-1, i0.view(view).expand(expand))
    b = x.gather(-1, i1.view(view).expand(expand))
    out = a + (b - a) * w.view(view)
    if outside == "zero":
        out = out * inside.view(view).to(x.dtype)
    return out
