"""Audio augmentations: exact SNR and gain, resampling arithmetic, SpecAugment masks."""

from __future__ import annotations

import math

import pytest
import torch

from reglab.augment import Gain, SpecAugment, add_noise_snr, gain, spec_augment, speed_perturb, time_shift


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("shape", [(8, 1000), (8, 2, 500)])
def test_noise_is_added_at_the_exact_snr(shape):
    x = torch.randn(*shape, generator=_gen(0)) * torch.linspace(0.1, 3.0, shape[0]).view(-1, *[1] * (len(shape) - 1))
    out = add_noise_snr(x, 5.0, 25.0, _gen(1))
    noise = out.double() - x.double()
    dims = tuple(range(1, len(shape)))
    snr = 10 * torch.log10(x.double().pow(2).mean(dims) / noise.pow(2).mean(dims))
    drawn = 5.0 + 20.0 * torch.rand(shape[0], generator=_gen(1)).double()
    assert torch.allclose(snr, drawn, atol=1e-4)
    assert out.dtype == x.dtype and out.shape == x.shape


def test_silence_gets_no_noise_and_gain_is_in_decibels():
    assert torch.equal(add_noise_snr(torch.zeros(2, 50), 10, 10, _gen()), torch.zeros(2, 50))
    x = torch.randn(4, 100, generator=_gen(2))
    out = gain(x, 6.0, 6.0, _gen())
    assert torch.allclose(out, x * 10 ** (6 / 20), atol=1e-6)
    assert torch.equal(gain(x, 0.0, 0.0, _gen()), x)


def test_speed_perturbation_resamples_linearly():
    x = torch.arange(20.0).repeat(3000, 1)
    out = speed_perturb(x, (0.5, 1.0, 2.0), _gen(3))
    slope = out[:, 1] - out[:, 0]
    assert set(slope.tolist()) == {0.5, 1.0, 2.0}
    for s in (0.5, 1.0, 2.0):
        rows = out[slope == s]
        assert rows.shape[0] == pytest.approx(1000, abs=90)
        t = torch.arange(20.0) * s
        assert torch.equal(rows[0], torch.where(t <= 19, t, torch.zeros(20)))  # zero past the end
    assert torch.equal(speed_perturb(x[:5], (1.0,), _gen()), x[:5])


def test_time_shift_moves_audio_with_silence_entering():
    x = torch.ones(500, 30)
    out = time_shift(x, 5, generator=_gen(4))
    zeros = (out == 0).sum(1)
    assert set(zeros.tolist()) == set(range(6))


def test_spec_augment_masks_bands_within_the_limits():
    x = torch.ones(2000, 20, 50)
    out = spec_augment(x, 6, 10, 1, 1, 0.0, _gen(5))
    masked = out == 0
    full_rows = masked.all(2).sum(1)  # masked frequency bins
    full_cols = masked.all(1).sum(1)  # masked frames
    assert full_rows.max().item() == 6 and full_cols.max().item() == 10
    assert full_rows.float().mean().item() == pytest.approx(3.0, abs=0.15)  # width ~ U{0..6}
    assert full_cols.float().mean().item() == pytest.approx(5.0, abs=0.2)
    # masks are contiguous bands
    for row in masked[:100]:
        bins = row.all(1).nonzero().flatten()
        if len(bins):
            assert bins.tolist() == list(range(bins[0].item(), bins[-1].item() + 1))
    assert torch.equal(spec_augment(x[:3], 0, 0, generator=_gen()), x[:3])
    four = spec_augment(torch.ones(5, 2, 20, 50), 6, 10, generator=_gen(6))
    assert torch.equal(four[:, 0], four[:, 1])  # channels share the masks


def test_modules_and_messages():
    assert repr(SpecAugment()) == "SpecAugment(freq_mask=27, time_mask=100, n_freq_masks=1, n_time_masks=1, mask_value=0.0)"
    with pytest.raises(ValueError) as err:
        Gain(3.0, -3.0)
    assert str(err.value) == "Invalid value for argument `max_db`. Expected a number >= min_db=3. Received: max_db=-3.0"
    with pytest.raises(ValueError) as err:
        add_noise_snr(torch.zeros(2, 3), -math.inf, 3)
    assert str(err.value) == "Invalid value for argument `min_snr`. Expected a finite number in (-inf, inf). Received: min_snr=-inf"
    with pytest.raises(ValueError) as err:
        spec_augment(torch.zeros(2, 4, 9), 5, 3)
    assert str(err.value) == "Invalid value for argument `freq_mask`. Expected an integer in [0, 4]. Received: freq_mask=5"
    with pytest.raises(ValueError) as err:
        speed_perturb(torch.zeros(2, 9), (1.0, 0.0))
    assert str(err.value) == "Invalid value for argument `factors`. Expected a finite number in (0, 4]. Received: factors=0.0"
