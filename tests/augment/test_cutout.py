"""Cutout zeroes one clipped square per image, with the centre anywhere in the image."""

from __future__ import annotations

import math

import pytest
import torch

import reglab
from reglab.augment import Cutout, cutout


def _expected_mask(n, h, w, size, seed):
    """Independent re-implementation: draw the centres in the documented order, slice the square."""
    g = torch.Generator().manual_seed(seed)
    cy = torch.randint(h, (n, 1), generator=g)
    cx = torch.randint(w, (n, 1), generator=g)
    mask = torch.zeros(n, h, w, dtype=torch.bool)
    for i in range(n):
        top, left = int(cy[i]) - size // 2, int(cx[i]) - size // 2
        mask[i, max(top, 0) : max(top + size, 0), max(left, 0) : max(left + size, 0)] = True
    return mask


@pytest.mark.parametrize(("size", "h", "w"), [(4, 8, 8), (3, 7, 10), (1, 5, 5), (6, 6, 6)])
def test_zeroed_region_is_the_clipped_square(size, h, w):
    n = 40
    x = torch.rand(n, 3, h, w) + 1.0  # no zeros before cutout
    out = cutout(x, size, torch.Generator().manual_seed(size))
    zero = out == 0
    assert torch.equal(zero, zero[:, :1].expand_as(zero))  # same square in every channel
    expected = _expected_mask(n, h, w, size, size)
    assert torch.equal(zero[:, 0], expected)
    assert torch.equal(out[~zero], x[~zero])
    rows, cols = expected.any(2).sum(1), expected.any(1).sum(1)
    assert torch.equal(zero[:, 0].sum((1, 2)), rows * cols)  # a rectangle
    assert int(rows.max()) <= size and int(cols.max()) <= size


def test_mean_area_matches_the_exact_expectation():
    """E[area] = E[rows] E[cols] with the centre uniform over pixels; tolerance 4 standard errors."""
    n, h, w, size = 3000, 10, 10, 6

    def mean_len(length):
        return sum(min(c - size // 2 + size, length) - max(c - size // 2, 0) for c in range(length)) / length

    out = cutout(torch.ones(n, 1, h, w), size, torch.Generator().manual_seed(0))
    area = (out == 0).sum((1, 2, 3)).double()
    expected = mean_len(h) * mean_len(w)
    assert abs(area.mean().item() - expected) < 4 * area.std().item() / math.sqrt(n)
    assert area.max().item() == size * size  # interior squares are complete


def test_edge_sizes_and_dtypes():
    x = torch.arange(2 * 3 * 5 * 5, dtype=torch.float32).view(2, 3, 5, 5) + 1
    assert torch.equal(cutout(x, 0, torch.Generator().manual_seed(0)), x)
    assert torch.equal(cutout(x, 11, torch.Generator().manual_seed(0)), torch.zeros_like(x))  # 2H + 1 covers all
    images = torch.full((2, 3, 5, 5), 255, dtype=torch.uint8)
    out = cutout(images, 3, torch.Generator().manual_seed(1))
    assert out.dtype == torch.uint8 and int((out == 0).sum()) > 0
    assert int((images == 0).sum()) == 0  # input untouched


def test_same_seed_identical_and_transform_object():
    x = torch.rand(4, 2, 9, 9)
    a = cutout(x, 4, torch.Generator().manual_seed(5))
    assert torch.equal(a, cutout(x, 4, torch.Generator().manual_seed(5)))
    transform = Cutout(size=4)
    assert repr(transform) == "Cutout(size=4)"
    y = torch.tensor([1, 2, 3, 4])
    out, y_out = transform(x, y, torch.Generator().manual_seed(5))
    assert torch.equal(out, a) and y_out is y
    assert Cutout.from_config(transform.get_config()).get_config() == {"size": 4}
    assert reglab.get("cutout").size == 16
