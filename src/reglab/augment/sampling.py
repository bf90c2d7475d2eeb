"""Generator-respecting random draws the mixing transforms need: Beta variates and permutations.

``torch.distributions.Beta`` samples through ``torch._standard_gamma``, which takes no
``torch.Generator``, so a seeded generator could not make mixup reproducible. :func:`sample_beta`
instead builds Beta(a, b) from two Gamma variates, ``X / (X + Y)`` with ``X ~ Gamma(a)`` and
``Y ~ Gamma(b)``, each drawn with the rejection method of Marsaglia & Tsang 2000 ("A Simple Method
for Generating Gamma Variables", ACM TOMS 26(3)) from ``torch.randn``/``torch.rand`` calls that
all take the generator. Shapes below 1 use their boosting identity
``Gamma(a) = Gamma(a + 1) * U^(1/a)``. The arithmetic is done in float64 and in log space
(``lam = sigmoid(log X - log Y)``), so small ``alpha`` such as mixup's 0.2, whose Gamma variates
underflow easily, still gives exact 0/1-free draws.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from reglab._validate import check_int, check_positive
from reglab.errors import invalid_argument

__all__ = ["sample_beta", "sample_log_gamma", "beta_values", "generator_device"]

# Rounds of candidates before giving up. Each candidate is accepted with probability above 0.95
# for every finite shape, so 64 rounds never run out in practice; the bound only turns a shape
# the arithmetic cannot handle (inf, NaN, overflow) into an error instead of an endless loop.
_MAX_ROUNDS = 64


def generator_device(generator: torch.Generator | None) -> torch.device:
    """The device random numbers are drawn on: the generator's, or the CPU's default generator."""
    return generator.device if generator is not None else torch.device("cpu")


def _log_gamma(shape: float, size: int, generator: torch.Generator | None) -> list[float]:
    """``size`` draws of ``log Gamma(shape, 1)`` as Python floats (``shape`` validated)."""
    device = generator_device(generator)
    a = shape + 1.0 if shape < 1.0 else shape
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    log_d = math.log(d)
    accepted: list[float] = []
    for _ in range(_MAX_ROUNDS):
        if len(accepted) == size:
            break
        # One round of candidates with a little slack is almost always enough. The acceptance test
        # runs on Python floats: for mixup's one draw per batch this is much cheaper than a dozen
        # tiny tensor ops.
        m = size - len(accepted) + 4
        zs = torch.randn(m, generator=generator, device=device, dtype=torch.float64).tolist()
        us = torch.rand(m, generator=generator, device=device, dtype=torch.float64).tolist()
        for z, u in zip(zs, us):
            v = (1.0 + c * z) ** 3
            if v <= 0.0 or u <= 0.0:
                continue
            log_v = math.log(v)
            if math.log(u) < 0.5 * z * z + d - d * v + d * log_v:
                accepted.append(log_d + log_v)
                if len(accepted) == size:
                    break
    if len(accepted) < size:
        raise ValueError(invalid_argument("shape", "a finite number in (0, inf)", shape))
    if shape < 1.0:
        # log(1 - U) with U in [0, 1) is finite.
        us = torch.rand(size, generator=generator, device=device, dtype=torch.float64).tolist()
        accepted = [lx + math.log1p(-u) / shape for lx, u in zip(accepted, us)]
    return accepted


def _sigmoid(t: float) -> float:
    if t >= 0.0:
        return 1.0 / (1.0 + math.exp(-t))
    e = math.exp(t)
    return e / (1.0 + e)


def beta_values(alpha: float, beta: float, size: int, generator: torch.Generator | None) -> list[float]:
    """``size`` Beta(alpha, beta) draws as Python floats (arguments validated by the caller)."""
    log_x = _log_gamma(alpha, size, generator)
    log_y = _log_gamma(beta, size, generator)
    return [_sigmoid(lx - ly) for lx, ly in zip(log_x, log_y)]


def sample_log_gamma(shape: float, size: int, generator: torch.Generator | None = None) -> Tensor:
    """``size`` draws of ``log X`` with ``X ~ Gamma(shape, 1)`` (float64, on the generator's device).

    Marsaglia & Tsang 2000: for ``a >= 1`` let ``d = a - 1/3``, ``c = 1 / sqrt(9 d)``; draw
    ``z ~ N(0, 1)``, ``v = (1 + c z)^3`` and ``u ~ U(0, 1)``, and accept ``d v`` when ``v > 0`` and
    ``log u < z^2 / 2 + d - d v + d log v`` (acceptance rate above 95%). Candidates are drawn in
    rounds of ``torch.randn``/``torch.rand`` calls until ``size`` are accepted, in order, so a
    seeded generator gives the same values every time. ``a < 1`` adds ``log(U) / a`` to a
    ``Gamma(a + 1)`` draw.

    Args:
        shape: the Gamma shape ``a > 0``.
        size: how many draws, ``>= 0``.
        generator: the random source. Defaults to None (PyTorch's global CPU generator).
    """
    shape = check_positive("shape", shape)
    size = check_int("size", size, low=0)
    return torch.tensor(_log_gamma(shape, size, generator), dtype=torch.float64, device=generator_device(generator))


def sample_beta(alpha: float, beta: float, size: int = 1, generator: torch.Generator | None = None) -> Tensor:
    """``size`` draws of ``Beta(alpha, beta)`` (float64, on the generator's device).

    ``X / (X + Y)`` with ``X ~ Gamma(alpha)``, ``Y ~ Gamma(beta)`` (see the module docstring),
    computed as ``sigmoid(log X - log Y)``; all ``X`` are drawn before all ``Y``.

    Args:
        alpha: first shape parameter, ``> 0``.
        beta: second shape parameter, ``> 0``.
        size: how many draws, ``>= 0``. Defaults to 1.
        generator: the random source. Defaults to None (PyTorch's global CPU generator).

    >>> g = torch.Generator().manual_seed(0)
    >>> lam = sample_beta(0.2, 0.2, 4, g)
    >>> bool(((lam >= 0) & (lam <= 1)).all())
    True
    """
    alpha = check_positive("alpha", alpha)
    beta = check_positive("beta", beta)
    size = check_int("size", size, low=0)
    values = beta_values(alpha, beta, size, generator)
    return torch.tensor(values, dtype=torch.float64, device=generator_device(generator))
