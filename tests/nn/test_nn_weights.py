"""DropConnect and WeightNoise: modules that regularize weights."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import reglab.nn as RN

Z = 5.0


def test_drop_connect_is_a_linear_with_masked_weights():
    torch.manual_seed(0)
    layer = RN.DropConnect(50, 40, p=0.25)
    assert isinstance(layer, nn.Linear)
    x = torch.cat([torch.eye(50), torch.eye(50)])
    out = layer(x) - layer.bias  # rows i and 50 + i: column i of the masked weight
    assert torch.equal(out[:50], out[50:])
    masked = out[:50].T
    kept = masked.abs() > 1e-6
    torch.testing.assert_close(masked[kept], layer.weight[kept] / 0.75)
    frac = 1 - kept.float().mean().item()
    assert abs(frac - 0.25) <= Z * math.sqrt(0.25 * 0.75 / 2000)


def test_drop_connect_eval_equals_linear_and_state_dict_loads_into_linear():
    layer = RN.DropConnect(6, 4, 0.5).eval()
    plain = nn.Linear(6, 4)
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(3, 6)
    assert torch.equal(layer(x), plain(x))
    no_bias = RN.DropConnect(6, 4, bias=False)
    assert no_bias.bias is None
    assert RN.DropConnect.from_config(no_bias.get_config()).bias is None


def test_drop_connect_gradients_reach_kept_weights():
    torch.manual_seed(1)
    layer = RN.DropConnect(30, 20, p=0.5)
    out = layer(torch.ones(1, 30))
    out.sum().backward()
    grad = layer.weight.grad
    assert set(torch.unique(grad).tolist()) == {0.0, 2.0}  # 1 / (1 - p) where kept
    assert torch.equal(layer.bias.grad, torch.ones(20))


def test_weight_noise_perturbs_weights_without_changing_them():
    torch.manual_seed(0)
    linear = nn.Linear(1, 20_000, bias=False)
    stored = linear.weight.detach().clone()
    wrapped = RN.WeightNoise(linear, std=0.05)
    x = torch.ones(1, 1, dtype=torch.float32)
    first = wrapped(x)
    second = wrapped(x)
    assert torch.equal(linear.weight, stored)
    assert not torch.equal(first, second)
    noise = (first - stored.T).flatten().double()  # x = 1, so output = w + noise
    n = noise.numel()
    assert abs(noise.mean().item()) <= Z * 0.05 / math.sqrt(n)
    assert abs(noise.std().item() - 0.05) <= Z * 0.05 / math.sqrt(2 * (n - 1))


def test_weight_noise_gradients_flow_to_the_stored_parameters():
    torch.manual_seed(0)
    linear = nn.Linear(3, 2)
    wrapped = RN.WeightNoise(linear, std=0.1, names=("weight", "bias"))
    x = torch.randn(5, 3)
    wrapped(x).sum().backward()
    # d/dw of sum((w + n) x + b + m) = sum over batch of x, independent of the noise
    torch.testing.assert_close(linear.weight.grad, x.sum(0).expand(2, 3))
    torch.testing.assert_close(linear.bias.grad, torch.full((2,), 5.0))


def test_weight_noise_eval_is_the_module_and_nested_names_work():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    wrapped = RN.WeightNoise(model, 0.5, names=["0.weight", "2.weight"])
    assert wrapped.names == ("0.weight", "2.weight")
    x = torch.randn(3, 4)
    assert torch.equal(wrapped.eval()(x), model(x))
    assert not torch.equal(wrapped.train()(x), model(x))
    assert repr(wrapped).startswith("WeightNoise(\n  std=0.5, names=('0.weight', '2.weight')\n  (module): Sequential(")


def test_weight_noise_config_round_trip():
    linear = nn.Linear(2, 2)
    wrapped = RN.WeightNoise(linear, 0.1)
    config = wrapped.get_config()
    assert config == {"module": linear, "std": 0.1, "names": ("weight",)}
    assert RN.WeightNoise.from_config(config).get_config() == config


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"names": ("kernel",)},
         "Invalid value for argument `names`. Expected a non-empty sequence of parameter names of the module, "
         "from 'weight', 'bias'. Received: names=('kernel',)"),
        ({"names": "weight"},
         "Invalid value for argument `names`. Expected a non-empty sequence of parameter names of the module, "
         "from 'weight', 'bias'. Received: names='weight'"),
        ({"names": ()},
         "Invalid value for argument `names`. Expected a non-empty sequence of parameter names of the module, "
         "from 'weight', 'bias'. Received: names=()"),
        ({"std": -0.1}, "Invalid value for argument `std`. Expected a number in [0, inf). Received: std=-0.1"),
    ],
)
def test_weight_noise_errors(kwargs, message):
    with pytest.raises(ValueError) as exc:
        RN.WeightNoise(nn.Linear(2, 2), **{"std": 0.1, **kwargs})
    assert str(exc.value) == message


def test_weight_noise_rejects_non_modules():
    with pytest.raises(ValueError) as exc:
        RN.WeightNoise(lambda x: x, 0.1)  # type: ignore[arg-type]
    assert str(exc.value).startswith("Invalid value for argument `module`. Expected a torch.nn.Module. Received: module=<function")
