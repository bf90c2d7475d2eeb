"""1-D signal augmentations: exact arithmetic, zero magnitude = identity, seeded statistics."""

from __future__ import annotations

import pytest
import torch
from scipy.stats import chisquare, kstest

from reglab.augment import (
    Cutout1d, RandomShift, cutout_1d, jitter, random_crop_resize, random_scale, random_shift, shift_signal,
    time_stretch,
)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _roll_reference(x, shifts, mode):
    out = torch.stack([torch.roll(x[i], int(shifts[i]), dims=-1) for i in range(len(x))])
    if mode == "zero":
        length = x.shape[-1]
        for i, k in enumerate(shifts.tolist()):
            if k > 0:
                out[i, ..., : min(k, length)] = 0
            elif k < 0:
                out[i, ..., max(length + k, 0):] = 0
    return out


@pytest.mark.parametrize("mode", ["circular", "zero"])
@pytest.mark.parametrize("shape", [(9, 40), (9, 3, 40), (9, 2, 5)])
def test_shift_signal_is_torch_roll_per_sample(mode, shape):
    x = torch.randn(*shape, generator=_gen(1))
    shifts = torch.tensor([-12, -5, -1, 0, 1, 4, 5, 7, 12])
    assert torch.equal(shift_signal(x, shifts, mode), _roll_reference(x, shifts, mode))


def test_random_shift_draws_each_sample_its_own_uniform_shift():
    # a ramp 0..39 shifted circularly by k starts at (-k) mod 40: read k back from out[:, 0]
    n, m = 9000, 4
    x = torch.arange(40.0).repeat(n, 1)
    out = random_shift(x, m, "circular", _gen(3))
    k = (-out[:, 0].long()) % 40
    k = torch.where(k > 20, k - 40, k)
    counts = torch.bincount(k + m, minlength=2 * m + 1)
    assert counts.numel() == 2 * m + 1  # never outside [-4, 4]
    assert chisquare(counts.numpy()).pvalue > 1e-3
    # every row is an exact circular shift of the ramp
    assert torch.equal(out, _roll_reference(x, k, "circular"))
    # per-sample independence: consecutive shifts are uncorrelated
    kf = k.double()
    assert abs(torch.corrcoef(torch.stack([kf[:-1], kf[1:]]))[0, 1]) < 0.05


def test_zero_magnitudes_are_the_identity_and_keep_shape_and_dtype():
    x = torch.randn(6, 2, 30, generator=_gen(0), dtype=torch.float64)
    for out in (random_shift(x, 0, generator=_gen()), random_scale(x, 0.0, _gen()), jitter(x, 0.0, _gen()),
                time_stretch(x, 0.0, _gen()), random_crop_resize(x, 1.0, _gen()), cutout_1d(x, 0, _gen())):
        assert out.dtype == torch.float64 and out.shape == x.shape
        assert torch.equal(out, x)


def test_seeded_ops_reproduce_and_do_not_modify_the_input():
    x = torch.randn(5, 40, generator=_gen(0))
    before = x.clone()
    for op in (lambda g: random_shift(x, 4, "zero", g), lambda g: time_stretch(x, 0.3, g),
               lambda g: random_crop_resize(x, 0.5, g), lambda g: jitter(x, 0.1, g)):
        assert torch.equal(op(_gen(7)), op(_gen(7)))
    assert torch.equal(x, before)


def test_scale_factors_are_normal_with_the_given_sigma():
    x = torch.ones(20000, 3)
    s = random_scale(x, 0.2, _gen(1))[:, 0]
    assert torch.equal(s[:, None].expand(-1, 3), random_scale(x, 0.2, _gen(1)))  # one factor per sample
    assert kstest(((s - 1) / 0.2).numpy(), "norm").pvalue > 1e-3


def test_jitter_noise_has_the_given_std():
    out = jitter(torch.zeros(400, 50), 0.3, _gen(2))
    assert out.std().item() == pytest.approx(0.3, rel=0.02)
    assert out.mean().item() == pytest.approx(0.0, abs=0.005)


def test_time_stretch_matches_the_interpolation_formula():
    x = torch.arange(11.0).repeat(3, 1) ** 2  # a parabola: linear interpolation is visible
    g = _gen(4)
    out = time_stretch(x, 0.5, g)
    f = 0.5 + torch.rand(3, generator=_gen(4))  # the factors the op drew
    c = 5.0
    for i in range(3):
        src = (c + (torch.arange(11.0) - c) / f[i]).clamp(0, 10)
        ref = torch.from_numpy(__import__("numpy").interp(src.numpy(), range(11), x[i].numpy())).float()
        assert torch.allclose(out[i], ref, atol=1e-4)


def test_crop_resize_reads_a_window_inside_the_signal():
    x = torch.arange(40.0).repeat(500, 1)
    out = random_crop_resize(x, 0.5, _gen(5))
    first, last = out[:, 0], out[:, -1]
    width = last - first + 1
    assert bool((first >= 0).all() and (last <= 39).all())
    assert bool((width >= 20).all() and (width <= 40).all())
    # the window is resized linearly: equal steps
    steps = out.diff(dim=1)
    assert torch.allclose(steps, steps[:, :1].expand_as(steps), atol=1e-4)
    assert len(set(width.tolist())) > 15  # per-sample windows


def test_cutout_1d_zeroes_one_clipped_window_per_sample():
    x = torch.ones(3000, 2, 40)
    out = cutout_1d(x, 6, _gen(6))
    zeros = (out[:, 0] == 0).sum(1)
    assert torch.equal(out[:, 0], out[:, 1])  # channels share the window
    assert bool((zeros >= 3).all() and (zeros <= 6).all())
    assert (zeros == 6).float().mean().item() == pytest.approx(35 / 40, abs=0.03)  # centres 3..37 fit


def test_modules_wrap_the_functions_and_keep_labels():
    x, y = torch.randn(4, 40, generator=_gen(0)), torch.tensor([1, 2, 3, 4])
    xs, ys = RandomShift(3, "zero")(x, y, generator=_gen(9))
    assert ys is y and torch.equal(xs, random_shift(x, 3, "zero", _gen(9)))
    assert repr(Cutout1d(5)) == "Cutout1d(size=5)"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: RandomShift(-1), "Invalid value for argument `max_shift`. Expected an integer >= 0. Received: max_shift=-1"),
        (lambda: RandomShift(2, "wrap"),
         "Invalid value for argument `mode`. Expected one of 'circular', 'zero'. Received: mode='wrap'"),
        (lambda: jitter(torch.zeros(2, 3), float("inf")),
         "Invalid value for argument `sigma`. Expected a finite number in [0, inf). Received: sigma=inf"),
        (lambda: random_scale(torch.zeros(2, 3), float("nan")),
         "Invalid value for argument `sigma`. Expected a finite number in [0, inf). Received: sigma=nan"),
        (lambda: time_stretch(torch.zeros(2, 3), 1.0),
         "Invalid value for argument `max_stretch`. Expected a finite number in [0, 1). Received: max_stretch=1.0"),
        (lambda: random_crop_resize(torch.zeros(2, 3), 0.0),
         "Invalid value for argument `min_scale`. Expected a finite number in (0, 1]. Received: min_scale=0.0"),
        (lambda: random_shift(torch.zeros(3), 1),
         "Invalid value for argument `x`. Expected a tensor with 2 or 3 dimensions. Received: x.ndim=1 (shape (3,))"),
        (lambda: jitter(torch.zeros(2, 3, dtype=torch.long), 0.1),
         "Invalid value for argument `x`. Expected a floating-point tensor. Received: x.dtype=torch.int64"),
    ],
)
def test_bad_arguments_raise_one_clear_message(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value) == message
