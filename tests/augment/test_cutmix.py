"""CutMix: the soft-target weight is exactly the pasted-pixel fraction, after clipping."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import reglab
from reglab.augment import CutMix, cutmix, sample_cutmix_params


def _constant_images(n, h, w):
    """Image i is filled with the value i + 1 (two channels), so pasted pixels name their source."""
    return (torch.arange(n, dtype=torch.float32) + 1).view(n, 1, 1, 1).expand(n, 2, h, w).clone()


@pytest.mark.parametrize(("n", "h", "w"), [(5, 7, 7), (4, 6, 9), (1, 5, 5)])
def test_weight_equals_exact_pasted_fraction(n, h, w):
    x = _constant_images(n, h, w)
    y = torch.arange(n)
    clipped = full = 0
    for seed in range(80):
        params = sample_cutmix_params(n, h, w, 1.0, torch.Generator().manual_seed(seed))
        x_mixed, y_soft = cutmix(x, y, 1.0, n, torch.Generator().manual_seed(seed))
        top, bottom, left, right = params.box
        assert 0 <= top <= bottom <= h and 0 <= left <= right <= w
        area = (bottom - top) * (right - left)
        assert params.lam == (h * w - area) / (h * w)  # the kept fraction, correctly rounded
        for i in range(n):
            j = int(params.perm[i])
            inside = torch.zeros(h, w, dtype=torch.bool)
            inside[top:bottom, left:right] = True
            # the box holds the partner's pixels, the rest is the image's own
            assert torch.equal(x_mixed[i][:, inside], torch.full((2, area), float(j + 1)))
            assert torch.equal(x_mixed[i][:, ~inside], torch.full((2, h * w - area), float(i + 1)))
            if j != i:
                pasted = int((x_mixed[i, 0] != x[i, 0]).sum())
                assert pasted == area
                assert y_soft[i, j].item() == torch.tensor(pasted / (h * w), dtype=torch.float32).item()
                assert y_soft[i, i].item() == torch.tensor(1 - pasted / (h * w), dtype=torch.float32).item()
            torch.testing.assert_close(y_soft[i].sum(), torch.tensor(1.0))
        clipped += int(top == 0 or bottom == h or left == 0 or right == w)
        full += int(area > 0 and 0 < top and bottom < h and 0 < left and right < w)
    if h > 5:
        assert clipped > 0 and full > 0  # both clipped and interior boxes were exercised


def test_one_hot_and_soft_labels_mix_by_area():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 3, 8, 8, generator=g)
    soft = torch.softmax(torch.randn(6, 4, generator=g), 1)
    for seed in range(10):
        params = sample_cutmix_params(6, 8, 8, 0.5, torch.Generator().manual_seed(seed))
        x_mixed, y_soft = cutmix(x, soft, 0.5, 4, torch.Generator().manual_seed(seed))
        torch.testing.assert_close(y_soft, params.lam * soft + (1 - params.lam) * soft[params.perm])
        top, bottom, left, right = params.box
        expected = x.clone()
        expected[:, :, top:bottom, left:right] = x[params.perm][:, :, top:bottom, left:right]
        assert torch.equal(x_mixed, expected)


def test_same_seed_identical_and_input_untouched():
    x = torch.randn(3, 1, 10, 10, generator=torch.Generator().manual_seed(1))
    x_copy = x.clone()
    y = F.one_hot(torch.tensor([0, 1, 2]), 3).float()
    a = cutmix(x, y, 1.0, None, torch.Generator().manual_seed(9))
    b = cutmix(x, y, 1.0, None, torch.Generator().manual_seed(9))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.equal(x, x_copy)


def test_transform_object_round_trips_and_registry():
    x = torch.randn(4, 1, 6, 6)
    y = torch.tensor([0, 1, 1, 0])
    transform = CutMix(num_classes=2)
    assert repr(transform) == "CutMix(alpha=1.0, num_classes=2)"
    out = transform(x, y, torch.Generator().manual_seed(3))
    ref = cutmix(x, y, 1.0, 2, torch.Generator().manual_seed(3))
    assert torch.equal(out[0], ref[0]) and torch.equal(out[1], ref[1])
    assert CutMix.from_config(transform.get_config()).get_config() == transform.get_config()
    assert isinstance(reglab.get("cutmix", alpha=0.5), CutMix)
