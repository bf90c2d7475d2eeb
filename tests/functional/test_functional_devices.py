"""Cross-checks that need an optional dependency or a GPU (skipped where it is missing).

* torchvision's ``stochastic_depth`` and timm's ``drop_path`` draw their masks exactly as
  ``reglab.functional.drop_path`` does, so with the same global seed the outputs are identical.
* On CUDA, every function runs on the input's device with a CUDA generator and keeps its
  statistics.
"""

from __future__ import annotations

import math

import pytest
import torch

import reglab.functional as RF
import reglab.nn as RN

Z = 5.0


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_drop_path_matches_torchvision_stochastic_depth(mode):
    ops = pytest.importorskip("torchvision.ops")
    x = torch.randn(64, 3, 4, 4)
    torch.manual_seed(5)
    want = ops.stochastic_depth(x, 0.3, mode, training=True)
    torch.manual_seed(5)
    got = RF.drop_path(x, 0.3, mode, training=True)
    assert torch.equal(got, want)


@pytest.mark.parametrize("scale_by_keep", [True, False])
def test_drop_path_matches_timm(scale_by_keep):
    layers = pytest.importorskip("timm.layers")
    x = torch.randn(64, 10, 8)
    torch.manual_seed(6)
    want = layers.drop_path(x, 0.25, True, scale_by_keep)
    torch.manual_seed(6)
    got = RF.drop_path(x, 0.25, scale_by_keep=scale_by_keep, training=True)
    assert torch.equal(got, want)


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

BERNOULLI = [
    ("dropout", lambda x, g: RF.dropout(x, 0.3, training=True, generator=g), (512, 512)),
    ("dropout-native", lambda x, g: RF.dropout(x, 0.3, training=True), (512, 512)),
    ("dropout-classic", lambda x, g: RF.dropout(x, 0.3, "classic", training=True, generator=g), (512, 512)),
    ("spatial", lambda x, g: RF.spatial_dropout(x, 0.3, training=True, generator=g), (512, 512, 2, 2)),
    ("locked", lambda x, g: RF.locked_dropout(x, 0.3, training=True, generator=g), (512, 2, 512)),
    ("drop_path", lambda x, g: RF.drop_path(x, 0.3, training=True, generator=g), (200_000, 2)),
    ("drop_block-1", lambda x, g: RF.drop_block(x, 0.3, 1, training=True, generator=g), (64, 64, 8, 8)),
]


@cuda
@pytest.mark.parametrize(("name", "fn", "shape"), BERNOULLI, ids=[b[0] for b in BERNOULLI])
def test_cuda_drop_rate_and_device(name, fn, shape):
    g = torch.Generator("cuda").manual_seed(0)
    x = torch.rand(shape, device="cuda") + 0.5
    out = fn(x, g)
    assert out.device == x.device
    # unit of independent draws: elements, channels, (sequence, feature) pairs or rows
    units = {"spatial": 512 * 512, "locked": 512 * 512, "drop_path": 200_000}.get(name, x.numel())
    frac = (out == 0).float().mean().item()
    assert abs(frac - 0.3) <= Z * math.sqrt(0.3 * 0.7 / units)
    if name != "dropout-native":
        again = fn(x, torch.Generator("cuda").manual_seed(0))
        assert torch.equal(out, again)


@cuda
def test_cuda_continuous_noise():
    g = torch.Generator("cuda").manual_seed(0)
    n = 1_000_000
    ones = torch.ones(n, device="cuda", dtype=torch.float64)
    gd = RF.gaussian_dropout(ones, 0.5, training=True, generator=g)
    assert abs(gd.var().item() - 1.0) <= Z * math.sqrt(2 / (n - 1))
    x = torch.randn(n, device="cuda", dtype=torch.float64, generator=g)
    x = (x - x.mean()) / x.std()
    ad = RF.alpha_dropout(x, 0.2, training=True, generator=g)
    assert abs(ad.mean().item()) <= Z / math.sqrt(n)
    gn = RF.gaussian_noise(ones, 0.1, training=True, generator=g) - 1
    assert abs(gn.std().item() - 0.1) <= Z * 0.1 / math.sqrt(2 * (n - 1))


@cuda
def test_cuda_modules_and_gradient_noise():
    torch.manual_seed(0)
    layer = RN.DropConnect(64, 32, 0.5).cuda()
    noisy = RN.WeightNoise(torch.nn.Linear(64, 32), 0.1).cuda()
    x = torch.randn(8, 64, device="cuda")
    for module in (layer, noisy):
        out = module(x)
        out.sum().backward()
        assert out.device.type == "cuda"
        assert module.get_parameter("weight" if module is layer else "module.weight").grad.device.type == "cuda"
    blocks = RN.DropBlock2d(0.2, 3)(x.view(8, 1, 8, 8))
    assert blocks.device.type == "cuda"
    sigma = RF.add_gradient_noise_(layer.parameters(), 0, generator=torch.Generator("cuda").manual_seed(1))
    assert sigma == pytest.approx(0.1)
