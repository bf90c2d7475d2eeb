"""Image augmentations: exact crops and flips, warps cross-checked against PIL, seeded statistics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.stats import chisquare

from reglab.augment import (
    ColorJitter, HorizontalFlip, RandomCrop, RandomErasing, TrivialAugment, color_jitter, horizontal_flip,
    random_affine, random_crop, random_erasing, trivial_augment,
)
from reglab.augment.image import TRIVIAL_OPS, affine_matrices, warp


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_random_crop_is_a_shifted_window_of_the_zero_padded_image():
    x = torch.randn(400, 2, 8, 8, generator=_gen(0))
    out = random_crop(x, 2, _gen(1))
    g = _gen(1)
    top = torch.randint(0, 5, (400,), generator=g)
    left = torch.randint(0, 5, (400,), generator=g)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(0, 400, 37):
        t, l_ = int(top[i]), int(left[i])
        assert torch.equal(out[i], padded[i, :, t:t + 8, l_:l_ + 8])
    assert chisquare(torch.bincount(top, minlength=5).numpy()).pvalue > 1e-3
    assert out.shape == x.shape and out.dtype == x.dtype


def test_zero_magnitudes_are_the_identity():
    x = torch.randn(5, 3, 6, 7, generator=_gen(0))
    for out in (random_crop(x, 0, _gen()), horizontal_flip(x, 0.0, _gen()), random_affine(x, 0.0, generator=_gen()),
                color_jitter(x, generator=_gen()), random_erasing(x, 0.0, generator=_gen())):
        assert torch.equal(out, x) and out.shape == x.shape


def test_flip_mirrors_the_flipped_images_only_with_probability_p():
    x = torch.randn(4000, 1, 3, 5, generator=_gen(0))
    out = horizontal_flip(x, 0.3, _gen(2))
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    same = (out == x).flatten(1).all(1)
    assert bool((flipped | same).all())
    assert flipped.float().mean().item() == pytest.approx(0.3, abs=0.025)
    assert torch.equal(horizontal_flip(x[:3], 1.0), x[:3].flip(-1))


@pytest.mark.parametrize("angle", [-10.0, 7.0, 30.0])
def test_rotation_matches_pil_bilinear_rotate(angle):
    img = np.random.default_rng(0).random((21, 21)).astype(np.float32)
    x = torch.from_numpy(img)[None, None]
    m = affine_matrices(torch.tensor([angle]), torch.zeros(1, 2), torch.ones(1), torch.zeros(1, 2), 21, 21)
    ours = warp(x, m)[0, 0].numpy()
    pil = np.asarray(Image.fromarray(img, mode="F").rotate(angle, resample=Image.BILINEAR))
    inner = slice(5, 16)  # away from the corners that rotate out of the frame
    assert np.allclose(ours[inner, inner], pil[inner, inner], atol=1e-4)


def test_translation_by_whole_pixels_is_exact():
    x = torch.randn(1, 1, 9, 9, generator=_gen(0))
    m = affine_matrices(torch.zeros(1), torch.tensor([[2.0, -1.0]]), torch.ones(1), torch.zeros(1, 2), 9, 9)
    out = warp(x, m)[0, 0]
    assert torch.allclose(out[:-1, 2:], x[0, 0, 1:, :-2], atol=1e-5)  # moved 2 right, 1 up
    assert torch.equal(out[:, :2], torch.zeros(9, 2)) and torch.equal(out[-1], torch.zeros(9))


def test_random_affine_draws_per_image_angles():
    x = torch.zeros(64, 1, 11, 11)
    x[:, :, 5, :] = 1.0  # a horizontal bar: its rotation is visible
    out = random_affine(x, 30.0, generator=_gen(3))
    distinct = {tuple(o.flatten().round(decimals=3).tolist()) for o in out}
    assert len(distinct) == 64
    assert out.shape == x.shape


def test_color_jitter_brightness_and_contrast_follow_the_formula():
    x = torch.randn(50, 3, 4, 4, generator=_gen(0))
    out = color_jitter(x, brightness=0.5, contrast=0.4, generator=_gen(1))
    g = _gen(1)
    b = -0.5 + torch.rand(50, generator=g)
    c = 0.6 + 0.8 * torch.rand(50, generator=g)
    shifted = x + b[:, None, None, None]
    mean = shifted.mean(dim=(1, 2, 3), keepdim=True)
    assert torch.allclose(out, mean + (shifted - mean) * c[:, None, None, None], atol=1e-6)


def test_saturation_needs_rgb_images():
    with pytest.raises(ValueError) as err:
        color_jitter(torch.zeros(2, 1, 4, 4), saturation=0.2)
    assert str(err.value) == (
        "Invalid value for argument `x`. Expected RGB images (N, 3, H, W) for saturation or hue. "
        "Received: x.shape=(2, 1, 4, 4)"
    )
    gray = torch.full((2, 3, 4, 4), 0.5)
    assert torch.allclose(color_jitter(gray, saturation=0.5, generator=_gen()), gray, atol=1e-6)  # grey has none


def test_random_erasing_rectangles_follow_the_area_range():
    x = torch.ones(3000, 1, 20, 20)
    out = random_erasing(x, p=0.5, scale=(0.1, 0.2), ratio=(0.5, 2.0), generator=_gen(4))
    erased = (out == 0).flatten(1).sum(1).float() / 400
    on = erased > 0
    assert on.float().mean().item() == pytest.approx(0.5, abs=0.03)
    assert erased[on].min().item() >= 0.06 and erased[on].max().item() <= 0.25  # rounding of the sides
    assert erased[on].mean().item() == pytest.approx(0.15, abs=0.01)


def test_trivial_augment_changes_one_thing_per_image_and_bin_zero_is_identity():
    x = torch.randn(300, 1, 12, 12, generator=_gen(0))
    out = trivial_augment(x, generator=_gen(5))
    assert out.shape == x.shape
    changed = ~torch.isclose(out, x, atol=1e-6).flatten(1).all(1)
    # identity op and bin 0 leave an image as it is: about 1/8 + 7/8 * 1/31 of them
    assert (~changed).float().mean().item() == pytest.approx(1 / 8 + 7 / 8 / 31, abs=0.05)
    assert set(TRIVIAL_OPS) == {"identity", "rotate", "shear_x", "shear_y", "translate_x", "translate_y",
                                "brightness", "contrast"}


def test_modules_keep_labels_and_reproduce():
    x, y = torch.randn(4, 1, 8, 8, generator=_gen(0)), torch.arange(4)
    for t in (RandomCrop(2), HorizontalFlip(), RandomErasing(), ColorJitter(), TrivialAugment()):
        a, ya = t(x, y, generator=_gen(3))
        b, _ = t(x, y, generator=_gen(3))
        assert ya is y and torch.equal(a, b)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: RandomCrop(-2), "Invalid value for argument `padding`. Expected an integer >= 0. Received: padding=-2"),
        (lambda: HorizontalFlip(1.5), "Invalid value for argument `p`. Expected a number in [0, 1]. Received: p=1.5"),
        (lambda: random_affine(torch.zeros(1, 1, 4, 4), float("inf")),
         "Invalid value for argument `degrees`. Expected a finite number in [0, 180]. Received: degrees=inf"),
        (lambda: RandomErasing(scale=(0.3, 0.1)),
         "Invalid value for argument `scale`. Expected a pair (low, high) with low <= high. Received: scale=(0.3, 0.1)"),
        (lambda: random_crop(torch.zeros(4, 4), 1),
         "Invalid value for argument `x`. Expected a tensor with 4 dimensions. Received: x.ndim=2 (shape (4, 4))"),
    ],
)
def test_bad_arguments_raise_one_clear_message(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value) == message


def test_without_kornia_the_warps_name_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "kornia", None)  # import kornia -> ImportError
    with pytest.raises(ImportError) as err:
        random_affine(torch.zeros(1, 1, 4, 4), 10.0, generator=_gen())
    assert str(err.value).startswith("This augmentation needs kornia, which cannot be imported here (")
    assert str(err.value).endswith("Install it with: pip install 'reglab[augment]'")
    assert torch.equal(random_crop(torch.ones(1, 1, 4, 4), 0), torch.ones(1, 1, 4, 4))  # pure torch still works
