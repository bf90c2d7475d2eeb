"""MaskPlan: one draw per member and step for every dropout site, exact and fast."""

from __future__ import annotations

import math

import pytest
import torch

from reglab.experiments.vectorized.masks import MaskPlan

# Two sites, three members: member 0 never drops, member 1 drops only at the second site,
# member 2 drops at both with different rates (so the plan keeps per-unit thresholds).
RATES = [(0.0, 0.0, 0.25), (0.0, 0.5, 0.6)]
SHAPES = [(30, 7), (30, 5)]


def _plan(mode: str, dtype: torch.dtype = torch.float32) -> MaskPlan:
    return MaskPlan(RATES, SHAPES, dtype=dtype, device=torch.device("cpu"), mode=mode)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_exact_masks_are_each_members_bernoulli_draws_site_after_site(dtype):
    gens = [torch.Generator().manual_seed(s) for s in (11, 12, 13)]
    plan = _plan("exact", dtype)
    first = plan.draw(gens)
    second = plan.draw(gens)  # the buffer is reused: a second step draws fresh bits
    for k in range(3):
        ref_g = torch.Generator().manual_seed(11 + k)
        for masks in (first, second):
            for site, (b, h) in enumerate(SHAPES):
                p = RATES[site][k]
                if p == 0:
                    ref = torch.ones(b, h, dtype=dtype)  # nothing drawn
                else:
                    ref = torch.empty(b, h, dtype=dtype).bernoulli_(1 - p, generator=ref_g) * (1.0 / (1.0 - p))
                assert masks[site].dtype == dtype
                assert torch.equal(masks[site][k], ref), (k, site)
        assert torch.equal(gens[k].get_state(), ref_g.get_state())


def test_fast_masks_keep_p0_sites_whole_and_others_at_their_rate():
    plan = MaskPlan([(0.0, 0.3), (0.4, 0.0)], [(2000, 50), (2000, 50)], dtype=torch.float32,
                    device=torch.device("cpu"), mode="fast")
    gens = [torch.Generator().manual_seed(s) for s in (1, 2)]
    site0, site1 = plan.draw(gens)
    assert torch.equal(site0[0], torch.ones(2000, 50))
    assert torch.equal(site1[1], torch.ones(2000, 50))
    n = 2000 * 50
    for mask, p in ((site0[1], 0.3), (site1[0], 0.4)):
        kept = mask != 0
        assert abs(kept.double().mean().item() - (1 - p)) <= 4.5 * math.sqrt(p * (1 - p) / n)
        assert torch.equal(mask[kept], torch.full((int(kept.sum()),), 1.0 / (1.0 - p)))


def test_rate_one_drops_everything_and_consumes_the_draws():
    plan = MaskPlan([(1.0,)], [(4, 3)], dtype=torch.float32, device=torch.device("cpu"), mode="exact")
    g = torch.Generator().manual_seed(5)
    (mask,) = plan.draw([g])
    assert torch.equal(mask, torch.zeros(1, 4, 3))
    ref = torch.Generator().manual_seed(5)
    torch.empty(4, 3).bernoulli_(0.0, generator=ref)
    assert torch.equal(g.get_state(), ref.get_state())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_masks_on_cuda_keep_each_members_rate(mode):
    device = torch.device("cuda")
    plan = MaskPlan([(0.0, 0.3, 0.6)], [(2000, 50)], dtype=torch.float32, device=device, mode=mode)
    gens = [torch.Generator(device=device).manual_seed(s) for s in (1, 2, 3)]
    (mask,) = plan.draw(gens)
    assert mask.device.type == "cuda"
    assert torch.equal(mask[0], torch.ones(2000, 50, device=device))
    n = 2000 * 50
    for k, p in ((1, 0.3), (2, 0.6)):
        kept = mask[k] != 0
        assert abs(kept.double().mean().item() - (1 - p)) <= 4.5 * math.sqrt(p * (1 - p) / n)
        assert torch.equal(mask[k][kept], torch.full((int(kept.sum()),), 1.0 / (1.0 - p), device=device))
