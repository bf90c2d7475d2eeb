"""is_stochastic, torch.compile and device handling of the modules."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import reglab.nn as RN


@pytest.mark.parametrize(
    "module",
    [
        RN.Dropout(), RN.SpatialDropout(), RN.GaussianDropout(), RN.AlphaDropout(), RN.LockedDropout(),
        RN.DropConnect(2, 2), RN.DropPath(), RN.DropBlock2d(), RN.GaussianNoise(),
        RN.WeightNoise(nn.Linear(2, 2), 0.1),
        nn.Dropout(), nn.Dropout1d(), nn.Dropout2d(), nn.Dropout3d(), nn.AlphaDropout(), nn.FeatureAlphaDropout(),
    ],
    ids=lambda m: type(m).__module__.split(".")[0] + "." + type(m).__name__,
)
def test_stochastic_modules(module):
    assert RN.is_stochastic(module) is True


@pytest.mark.parametrize(
    "module",
    [nn.Linear(2, 2), nn.ReLU(), nn.BatchNorm1d(3), nn.Sequential(nn.Dropout()), nn.Identity(), nn.SELU()],
    ids=lambda m: type(m).__name__,
)
def test_deterministic_modules(module):
    assert RN.is_stochastic(module) is False


def test_compiled_classic_dropout_matches_eager_statistics():
    module = RN.Dropout(0.25, "classic")
    compiled = torch.compile(module, backend="aot_eager", fullgraph=True)
    x = torch.rand(64, 64) + 0.5
    out = compiled(x)
    kept = out != 0
    assert torch.equal(out[kept], x[kept])
    frac = 1 - kept.float().mean().item()
    assert abs(frac - 0.25) <= 5 * (0.25 * 0.75 / x.numel()) ** 0.5
    module.eval()
    torch.testing.assert_close(compiled(x), x * 0.75, rtol=0, atol=0)


def test_compiled_drop_block_keeps_block_structure_and_gradients():
    module = RN.DropBlock2d(0.3, block_size=3)
    compiled = torch.compile(module, backend="aot_eager", fullgraph=True)
    x = (torch.rand(2, 3, 10, 10) + 0.5).requires_grad_()
    out = compiled(x)
    zero = out == 0
    full = nn.functional.avg_pool2d(zero.float(), 3, stride=1) == 1.0
    cover = nn.functional.max_pool2d(nn.functional.pad(full.float(), (2, 2, 2, 2)), 3, stride=1) == 1.0
    assert torch.equal(cover, zero)
    out.sum().backward()
    scale = zero.numel() / (~zero).sum()
    torch.testing.assert_close(x.grad, (~zero).float() * scale)


@pytest.mark.parametrize(
    ("module", "shape"),
    [
        (RN.Dropout(0.5, "classic"), (4, 5)),
        (RN.LockedDropout(0.5), (2, 3, 4)),
        (RN.DropPath(0.5), (4, 5)),
        (RN.DropBlock2d(0.2, 3), (2, 3, 6, 6)),
        (RN.GaussianDropout(0.5), (4, 5)),
        (RN.GaussianNoise(0.5), (4, 5)),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else str(v),
)
def test_outputs_follow_the_input_device_and_dtype(module, shape):
    """No CPU is hard-coded: masks are made on the input's device (meta here) and dtype."""
    out = module(torch.empty(shape, device="meta", dtype=torch.float64))
    assert out.device.type == "meta"
    assert out.dtype == torch.float64
    assert out.shape == shape
