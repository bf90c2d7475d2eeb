"""Noise injection: gaussian_noise, weight_noise, add_gradient_noise_."""

from __future__ import annotations

import math

import pytest
import torch

import reglab.functional as RF

Z = 5.0


def test_gaussian_noise_statistics(gen):
    n, std = 400_000, 0.3
    x = torch.linspace(-2, 2, n, dtype=torch.float64)
    noise = RF.gaussian_noise(x, std, training=True, generator=gen) - x
    assert abs(noise.mean().item()) <= Z * std / math.sqrt(n)
    # normal: SE of the sample variance is var * sqrt(2 / (n - 1))
    assert abs(noise.var().item() - std**2) <= Z * std**2 * math.sqrt(2 / (n - 1))


def test_gaussian_noise_edge_cases_and_gradient(gen):
    x = torch.randn(4, 4, requires_grad=True)
    assert RF.gaussian_noise(x, 0.5, training=False) is x
    assert RF.gaussian_noise(x, 0.0, training=True, generator=gen) is x
    out = RF.gaussian_noise(x, 0.5, training=True, generator=gen)
    out.sum().backward()
    assert torch.equal(x.grad, torch.ones(4, 4))
    a = RF.gaussian_noise(x, 0.5, training=True, generator=torch.Generator().manual_seed(3))
    b = RF.gaussian_noise(x, 0.5, training=True, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


@pytest.mark.parametrize("std", [-0.1, float("nan"), "1"])
def test_gaussian_noise_bad_std(std):
    with pytest.raises(ValueError) as exc:
        RF.gaussian_noise(torch.ones(2), std, training=False)
    assert str(exc.value) == f"Invalid value for argument `std`. Expected a number in [0, inf). Received: std={std!r}"


def test_weight_noise_returns_perturbed_copies(gen):
    w = torch.zeros(300, 300, dtype=torch.float64, requires_grad=True)
    out = RF.weight_noise({"w": w}, 0.05, training=True, generator=gen)
    assert torch.equal(w, torch.zeros_like(w))  # the original is untouched
    n = w.numel()
    assert abs(out["w"].std().item() - 0.05) <= Z * 0.05 / math.sqrt(2 * (n - 1))
    out["w"].sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))
    same = RF.weight_noise({"w": w}, 0.05, training=False)
    assert same["w"] is w


def test_gradient_noise_std_formula():
    assert RF.gradient_noise_std(0) == pytest.approx(math.sqrt(0.01), rel=1e-15)
    assert RF.gradient_noise_std(99, eta=0.3, gamma=0.55) == pytest.approx(math.sqrt(0.3 / 100**0.55), rel=1e-15)
    assert RF.gradient_noise_std(5, eta=0.0) == 0.0


def test_add_gradient_noise_in_place(gen):
    a = torch.nn.Parameter(torch.zeros(500, 400, dtype=torch.float64))
    b = torch.nn.Parameter(torch.zeros(3))  # no grad: skipped
    a.grad = torch.zeros_like(a)
    grad = a.grad
    sigma = RF.add_gradient_noise_([a, b], step=9, eta=0.3, gamma=0.55, generator=gen)
    assert sigma == pytest.approx(math.sqrt(0.3 / 10**0.55), rel=1e-15)
    assert a.grad is grad  # in place
    assert b.grad is None
    assert torch.equal(a, torch.zeros_like(a))  # parameters untouched
    n = a.numel()
    assert abs(a.grad.mean().item()) <= Z * sigma / math.sqrt(n)
    assert abs(a.grad.std().item() - sigma) <= Z * sigma / math.sqrt(2 * (n - 1))


def test_add_gradient_noise_reproducible():
    grads = []
    for _ in range(2):
        p = torch.nn.Parameter(torch.zeros(10))
        p.grad = torch.ones(10)
        RF.add_gradient_noise_([p], 0, generator=torch.Generator().manual_seed(1))
        grads.append(p.grad)
    assert torch.equal(grads[0], grads[1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"step": -1}, "Invalid value for argument `step`. Expected an integer >= 0. Received: step=-1"),
        ({"step": 1.5}, "Invalid value for argument `step`. Expected an integer >= 0. Received: step=1.5"),
        ({"step": 0, "eta": -1.0}, "Invalid value for argument `eta`. Expected a number in [0, inf). Received: eta=-1.0"),
        ({"step": 0, "gamma": -0.5}, "Invalid value for argument `gamma`. Expected a number in [0, inf). Received: gamma=-0.5"),
    ],
)
def test_add_gradient_noise_errors(kwargs, message):
    with pytest.raises(ValueError) as exc:
        RF.add_gradient_noise_([], **kwargs)
    assert str(exc.value) == message
