"""Noise injection: additive input noise, weight noise, annealed gradient noise.

References:
    Bishop. "Training with Noise is Equivalent to Tikhonov Regularization". Neural Computation
    7(1), 1995 — additive input noise.
    Graves. "Practical Variational Inference for Neural Networks". NeurIPS 2011 — weight noise.
    Neelakantan, Vilnis, Le, Sutskever, Kaiser, Kurach, Martens. "Adding Gradient Noise Improves
    Learning for Very Deep Networks". arXiv:1511.06807, 2015 — annealed gradient noise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from reglab._validate import check_int
from reglab.functional._checks import floating, non_negative

__all__ = ["gaussian_noise", "weight_noise", "add_gradient_noise_", "gradient_noise_std"]


def gaussian_noise(
    input: torch.Tensor,
    std: float = 0.1,
    *,
    training: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Add independent ``N(0, std^2)`` noise to every element in training (Bishop 1995).

    Identity in evaluation and for ``std = 0``.

    Args:
        input: any floating tensor.
        std: standard deviation of the noise, >= 0. Defaults to 0.1.
        training: add noise (True) or return the input (False).
        generator: draws the noise. Defaults to None (the global RNG).
    """
    std = non_negative("std", std)
    floating("input", input)
    if not training or std == 0.0:
        return input
    noise = torch.empty_like(input).normal_(0.0, std, generator=generator)
    return noise.add_(input)


def gradient_noise_std(step: int, eta: float = 0.01, gamma: float = 0.55) -> float:
    """``sqrt(eta / (1 + step) ** gamma)``, the annealed noise scale of Neelakantan et al. 2015."""
    step = check_int("step", step, low=0)
    eta = non_negative("eta", eta)
    gamma = non_negative("gamma", gamma)
    return math.sqrt(eta / (1.0 + step) ** gamma)


def add_gradient_noise_(
    params: Iterable[torch.Tensor],
    step: int,
    eta: float = 0.01,
    gamma: float = 0.55,
    generator: torch.Generator | None = None,
) -> float:
    """Add ``N(0, sigma^2)`` noise in place to every ``.grad`` (Neelakantan et al. 2015).

    ``sigma^2 = eta / (1 + step) ** gamma``: the noise anneals as training goes on. Call it after
    ``loss.backward()`` and before ``optimizer.step()``. Parameters whose ``.grad`` is None are
    skipped.

    Args:
        params: parameters (e.g. ``model.parameters()``).
        step: the training step, an integer >= 0 (0 for the first step).
        eta: noise variance at step 0, >= 0; the paper tries {0.01, 0.3, 1.0}. Defaults to 0.01.
        gamma: decay exponent, >= 0. Defaults to 0.55 (the paper's value).
        generator: draws the noise; on the gradients' device. Defaults to None (the global RNG).

    Returns:
        sigma, the standard deviation used.
    """
    sigma = gradient_noise_std(step, eta, gamma)
    if sigma == 0.0:
        return sigma
    with torch.no_grad():
        for param in params:
            grad = param.grad
            if grad is None:
                continue
            grad.add_(torch.empty_like(grad).normal_(0.0, sigma, generator=generator))
    return sigma


def weight_noise(
    params: dict[str, torch.Tensor],
    std: float = 0.01,
    *,
    training: bool,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """Perturbed copies ``w + N(0, std^2)`` of named weights, for one forward pass (Graves 2011).

    The returned tensors are new (the stored parameters are unchanged) and differentiable with
    respect to the originals, so gradients reach the parameters; feed them to
    :func:`torch.func.functional_call`. In evaluation (or with ``std = 0``) the same tensors are
    returned.

    Args:
        params: name -> tensor.
        std: standard deviation of the additive noise, >= 0. Defaults to 0.01.
        training: perturb (True) or not (False).
        generator: draws the noise. Defaults to None (the global RNG).
    """
    std = non_negative("std", std)
    if not training or std == 0.0:
        return dict(params)
    # Out of place (the same numbers as an in-place ``normal_``), so ``vmap(randomness="different")``
    # gives each member its own noise; ``w +`` keeps d(out)/dw = 1 (``normal``'s mean has no grad).
    return {name: w + torch.normal(torch.zeros_like(w), std, generator=generator) for name, w in params.items()}
