"""reglab.functional.drop_block (Ghiasi et al. 2018)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import reglab.functional as RF

Z = 5.0


def covered_by_whole_blocks(zero: torch.Tensor, bs: int) -> torch.Tensor:
    """The union of every all-zero bs x bs square lying inside the map (same shape as ``zero``)."""
    full = F.avg_pool2d(zero.float(), bs, stride=1) == 1.0  # top-left corners of zero squares
    pad = bs - 1
    return F.max_pool2d(F.pad(full.float(), (pad, pad, pad, pad)), bs, stride=1) == 1.0


def test_gamma_is_equation_one():
    assert RF.drop_block_gamma(0.1, 7, 14, 14) == pytest.approx(0.1 / 49 * 196 / 64, rel=1e-15)
    assert RF.drop_block_gamma(0.2, 3, 10, 12) == pytest.approx(0.2 / 9 * 120 / (8 * 10), rel=1e-15)
    assert RF.drop_block_gamma(1.0, 5, 5, 5) == 1.0  # clipped


@pytest.mark.parametrize("bs", [1, 2, 3, 5])
@pytest.mark.parametrize("use_gen", [False, True])
def test_dropped_units_form_whole_blocks_inside_the_map(bs, use_gen, gen):
    torch.manual_seed(0)
    x = torch.rand(8, 4, 20, 17) + 0.5
    out = RF.drop_block(x, 0.15, bs, training=True, generator=gen if use_gen else None)
    zero = out == 0
    assert zero.any()
    assert torch.equal(covered_by_whole_blocks(zero, bs), zero)


def test_kept_units_are_scaled_by_numel_over_kept_count(gen):
    x = torch.rand(4, 3, 16, 16) + 0.5
    out = RF.drop_block(x, 0.2, 3, training=True, generator=gen)
    kept = out != 0
    scale = kept.numel() / kept.sum().item()
    torch.testing.assert_close(out[kept], x[kept] * scale)


def test_drop_fraction_matches_the_seed_model(gen):
    """E[dropped fraction] = mean over units of 1 - (1 - gamma)^(number of seeds covering it)."""
    n, c, h, w, bs, p = 64, 16, 12, 12, 3, 0.2
    out = RF.drop_block(torch.ones(n, c, h, w), p, bs, training=True, generator=gen)
    per_map = (out == 0).float().mean(dim=(2, 3)).flatten()  # independent maps
    gamma = RF.drop_block_gamma(p, bs, h, w)
    seeds = torch.ones(1, 1, h - bs + 1, w - bs + 1)
    covering = F.conv2d(F.pad(seeds, (bs - 1,) * 4), torch.ones(1, 1, bs, bs))  # (1, 1, h, w)
    expected = (1 - (1 - gamma) ** covering).mean().item()
    se = per_map.std().item() / math.sqrt(per_map.numel())
    assert abs(per_map.mean().item() - expected) <= Z * se
    # and the expected fraction is close to p, the paper's approximation (overlaps lower it)
    assert 0.7 * p < expected < p


def test_block_size_one_is_bernoulli_dropout(gen):
    p = 0.3
    out = RF.drop_block(torch.ones(8, 8, 32, 32), p, 1, training=True, generator=gen)
    n = out.numel()
    assert abs((out == 0).float().mean().item() - p) <= Z * math.sqrt(p * (1 - p) / n)


def test_shared_mask_across_channels(gen):
    out = RF.drop_block(torch.ones(4, 6, 10, 10), 0.3, 3, per_channel=False, training=True, generator=gen)
    zero = out == 0
    assert torch.equal(zero, zero[:, :1].expand_as(zero))
    per_channel = RF.drop_block(torch.ones(4, 6, 10, 10), 0.3, 3, training=True, generator=gen) == 0
    assert not torch.equal(per_channel, per_channel[:, :1].expand_as(per_channel))


def test_drop_block_edge_cases(gen):
    x = torch.randn(2, 3, 8, 8)
    assert RF.drop_block(x, 0.5, 3, training=False) is x
    assert RF.drop_block(x, 0.0, 3, training=True, generator=gen) is x
    assert torch.equal(RF.drop_block(x, 1.0, 3, training=True, generator=gen), torch.zeros_like(x))
    a = RF.drop_block(x, 0.3, 3, training=True, generator=torch.Generator().manual_seed(9))
    b = RF.drop_block(x, 0.3, 3, training=True, generator=torch.Generator().manual_seed(9))
    assert torch.equal(a, b)
    meta = torch.empty(2, 3, 8, 8, device="meta")
    assert RF.drop_block(meta, 0.3, 3, training=True).device.type == "meta"


def test_block_as_large_as_the_map_drops_all_or_nothing(gen):
    out = RF.drop_block(torch.ones(200, 1, 5, 5), 0.5, 5, training=True, generator=gen)
    per_map = (out == 0).flatten(1)
    assert torch.equal(per_map.all(1) | (~per_map).all(1), torch.ones(200, dtype=torch.bool))


@pytest.mark.parametrize(
    ("shape", "kwargs", "message"),
    [
        (
            (2, 3, 5, 8),
            {"block_size": 7},
            "Invalid value for argument `block_size`. Expected an integer in [1, 5] "
            "(the feature map is 5x8). Received: block_size=7",
        ),
        ((2, 3, 8, 8), {"block_size": 0}, "Invalid value for argument `block_size`. Expected an integer >= 1. Received: block_size=0"),
        ((2, 3, 8, 8), {"block_size": 3.0}, "Invalid value for argument `block_size`. Expected an integer >= 1. Received: block_size=3.0"),
        ((2, 3, 8, 8), {"p": 1.5}, "Invalid value for argument `p`. Expected a number in [0, 1]. Received: p=1.5"),
        (
            (3, 8, 8),
            {},
            "Invalid value for argument `input`. Expected a tensor with 4 dimensions. Received: input.ndim=3 (shape (3, 8, 8))",
        ),
    ],
)
@pytest.mark.parametrize("training", [True, False])
def test_drop_block_errors(shape, kwargs, message, training):
    kwargs = {"p": 0.1, "block_size": 3, **kwargs}
    with pytest.raises(ValueError) as exc:
        RF.drop_block(torch.ones(shape), training=training, **kwargs)
    assert str(exc.value) == message


def test_drop_block_rejects_non_bool_per_channel():
    with pytest.raises(ValueError) as exc:
        RF.drop_block(torch.ones(1, 1, 4, 4), 0.1, 3, "no", training=False)
    assert str(exc.value) == (
        "Invalid value for argument `per_channel`. Expected one of True, False. Received: per_channel='no'"
    )
