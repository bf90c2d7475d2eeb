"""Audio augmentations: waveforms ``(B, T)`` / ``(B, C, T)`` and spectrograms ``(B, F, T)`` /
``(B, C, F, T)``, one draw per example, on the batch's device.

==========================  ====================================================================
:func:`time_shift`          shift in time by up to ``max_shift`` samples (zero-filled or circular)
:func:`gain`                multiply by ``10^(g / 20)`` with ``g ~ U[min_db, max_db]``
:func:`add_noise_snr`       add white Gaussian noise at an SNR ``U[min_snr, max_snr]`` dB; the
                            power ratio of the drawn noise is exact: ``10 log10(Ps / Pn) = snr``
:func:`speed_perturb`       resample by a factor (Ko et al. 2015, Interspeech: 0.9, 1.0, 1.1),
                            linear interpolation, length kept (zero-padded or truncated)
:func:`spec_augment`        SpecAugment's frequency and time masking (Park et al. 2019,
                            Interspeech, arXiv:1904.08779); time warping is not included
==========================  ====================================================================
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from reglab._validate import check_choice, check_int
from reglab.augment._common import check_finite, check_tensor, interp_last, normal, randint, uniform
from reglab.augment.base import LabelPreserving
from reglab.augment.signal import SHIFT_MODES, shift_signal
from reglab.errors import invalid_argument
from reglab.registry import register

__all__ = [
    "time_shift",
    "gain",
    "add_noise_snr",
    "speed_perturb",
    "spec_augment",
    "TimeShift",
    "Gain",
    "NoiseSNR",
    "SpeedPerturb",
    "SpecAugment",
]


def _wave(x: Any) -> Tensor:
    return check_tensor("x", x, (2, 3))


def _per_sample(v: Tensor, x: Tensor) -> Tensor:
    return v.to(x.dtype).view((-1,) + (1,) * (x.dim() - 1))


def _ordered(name_low: str, low: float, name_high: str, high: float) -> None:
    if high < low:
        raise ValueError(invalid_argument(name_high, f"a number >= {name_low}={low:g}", high))


def time_shift(x: Tensor, max_shift: int, mode: str = "zero", generator: torch.Generator | None = None) -> Tensor:
    """Shift each waveform by ``k ~ U{-max_shift..max_shift}`` samples (see ``signal.random_shift``).

    Args:
        x: ``(B, T)`` or ``(B, C, T)``.
        max_shift: the largest shift in samples, ``>= 0``.
        mode: ``"zero"`` (silence enters) or ``"circular"``. Defaults to ``"zero"``.
        generator: the random source. Defaults to None.
    """
    max_shift = check_int("max_shift", max_shift, low=0)
    mode = check_choice("mode", mode, SHIFT_MODES)
    x = _wave(x)
    return shift_signal(x, randint(x.shape[0], -max_shift, max_shift, generator, x.device), mode, max_shift)


def gain(x: Tensor, min_db: float, max_db: float, generator: torch.Generator | None = None) -> Tensor:
    """Multiply each waveform by ``10^(g / 20)``, ``g ~ U[min_db, max_db]`` decibels.

    Args:
        x: ``(B, T)`` or ``(B, C, T)``.
        min_db, max_db: the gain range in dB, finite, ``min_db <= max_db``.
        generator: the random source. Defaults to None.
    """
    min_db = check_finite("min_db", min_db)
    max_db = check_finite("max_db", max_db)
    _ordered("min_db", min_db, "max_db", max_db)
    x = _wave(x)
    g = uniform(x.shape[0], min_db, max_db, generator, x.device).double()
    return x * _per_sample(torch.pow(10.0, g / 20.0), x)


def add_noise_snr(x: Tensor, min_snr: float, max_snr: float, generator: torch.Generator | None = None) -> Tensor:
    """Add white Gaussian noise at a signal-to-noise ratio ``U[min_snr, max_snr]`` dB per example.

    The drawn noise ``n`` is rescaled so that ``mean(x^2) / mean(n^2) = 10^(snr / 10)`` holds
    exactly for each example (powers over all its channels and samples). A silent example gets no
    noise. Draw order: the SNRs, then the noise.

    Args:
        x: ``(B, T)`` or ``(B, C, T)``.
        min_snr, max_snr: the SNR range in dB, finite, ``min_snr <= max_snr``.
        generator: the random source. Defaults to None.
    """
    min_snr = check_finite("min_snr", min_snr)
    max_snr = check_finite("max_snr", max_snr)
    _ordered("min_snr", min_snr, "max_snr", max_snr)
    x = _wave(x)
    snr = uniform(x.shape[0], min_snr, max_snr, generator, x.device).double()
    noise = normal(tuple(x.shape), generator, x.device, torch.float64)
    dims = tuple(range(1, x.dim()))
    p_signal = x.double().pow(2).mean(dims)
    p_noise = noise.pow(2).mean(dims)
    scale = torch.sqrt(p_signal / (p_noise * torch.pow(10.0, snr / 10.0)))
    return (x.double() + noise * scale.view((-1,) + (1,) * (x.dim() - 1))).to(x.dtype)


def speed_perturb(x: Tensor, factors: tuple[float, ...] = (0.9, 1.0, 1.1),
                  generator: torch.Generator | None = None) -> Tensor:
    """Play each waveform at a speed drawn uniformly from ``factors`` (Ko et al. 2015).

    ``out[t] = x[t * f]`` by linear interpolation: ``f > 1`` is faster (shorter, higher pitched;
    the end is zero-padded), ``f < 1`` slower (the end is cut), the length kept.

    Args:
        x: ``(B, T)`` or ``(B, C, T)``.
        factors: the speeds, each in ``(0, 4]``. Defaults to (0.9, 1.0, 1.1) (Ko et al.'s).
        generator: the random source. Defaults to None.
    """
    fac = _factors(factors)
    x = _wave(x)
    pick = randint(x.shape[0], 0, len(fac) - 1, generator, x.device)
    f = torch.tensor(fac, dtype=torch.float64, device=x.device)[pick]
    t = torch.arange(x.shape[-1], device=x.device, dtype=torch.float64)
    return interp_last(x, t[None, :] * f[:, None], outside="zero")


def _factors(factors: Any) -> tuple[float, ...]:
    if not isinstance(factors, (tuple, list)) or not factors:
        raise ValueError(invalid_argument("factors", "a non-empty sequence of speeds in (0, 4]", factors))
    return tuple(check_finite("factors", f, 0.0, 4.0, low_inclusive=False) for f in factors)


def spec_augment(x: Tensor, freq_mask: int, time_mask: int, n_freq_masks: int = 1, n_time_masks: int = 1,
                 mask_value: float = 0.0, generator: torch.Generator | None = None) -> Tensor:
    """SpecAugment masking (Park et al. 2019) on spectrograms ``(B, F, T)`` or ``(B, C, F, T)``.

    Each of ``n_freq_masks`` masks per example draws a width ``f ~ U{0..freq_mask}`` and a start
    ``f0 ~ U{0..F - f}`` and sets bins ``[f0, f0 + f)`` to ``mask_value``; time masks likewise with
    ``time_mask`` and ``T`` (the paper's LibriSpeech LB policy: F = 27, mF = 1, T = 100, mT = 1).
    Draw order: for each frequency mask widths then starts, then the same for time masks.

    Args:
        x: spectrograms ``(B, F, T)`` or ``(B, C, F, T)`` (channels share the masks).
        freq_mask: the largest frequency-mask width ``F``, in ``[0, n_freqs]``.
        time_mask: the largest time-mask width ``T``, in ``[0, n_frames]``.
        n_freq_masks, n_time_masks: masks per example, ``>= 0``. Default to 1.
        mask_value: the value written. Defaults to 0.0 (the mean of a normalised spectrogram).
        generator: the random source. Defaults to None.
    """
    x = check_tensor("x", x, (3, 4))
    n_f, n_t = x.shape[-2], x.shape[-1]
    freq_mask = check_int("freq_mask", freq_mask, low=0, high=n_f)
    time_mask = check_int("time_mask", time_mask, low=0, high=n_t)
    n_freq_masks = check_int("n_freq_masks", n_freq_masks, low=0)
    n_time_masks = check_int("n_time_masks", n_time_masks, low=0)
    mask_value = check_finite("mask_value", mask_value)
    b, dev = x.shape[0], x.device
    fmask = torch.zeros(b, n_f, dtype=torch.bool, device=dev)
    tmask = torch.zeros(b, n_t, dtype=torch.bool, device=dev)
    for mask, width, count, size in ((fmask, freq_mask, n_freq_masks, n_f), (tmask, time_mask, n_time_masks, n_t)):
        pos = torch.arange(size, device=dev)[None, :]
        for _ in range(count):
            w = randint(b, 0, width, generator, dev)
            start = randint(b, 0, size - w, generator, dev)
            mask |= (pos >= start[:, None]) & (pos < (start + w)[:, None])
    full = fmask[:, :, None] | tmask[:, None, :]  # (B, F, T)
    if x.dim() == 4:
        full = full[:, None]
    return x.masked_fill(full, mask_value)


@register("time_shift")
class TimeShift(LabelPreserving):
    """Batch transform form of :func:`time_shift`. ``max_shift`` defaults to 1600 (0.1 s at 16 kHz)."""

    def __init__(self, max_shift: int = 1600, mode: str = "zero") -> None:
        self.max_shift = check_int("max_shift", max_shift, low=0)
        self.mode = check_choice("mode", mode, SHIFT_MODES)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return time_shift(x, self.max_shift, self.mode, generator)


@register("gain")
class Gain(LabelPreserving):
    """Batch transform form of :func:`gain`. Defaults to ``[-6, 6]`` dB."""

    def __init__(self, min_db: float = -6.0, max_db: float = 6.0) -> None:
        self.min_db = check_finite("min_db", min_db)
        self.max_db = check_finite("max_db", max_db)
        _ordered("min_db", self.min_db, "max_db", self.max_db)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return gain(x, self.min_db, self.max_db, generator)


@register("noise_snr")
class NoiseSNR(LabelPreserving):
    """Batch transform form of :func:`add_noise_snr`. Defaults to ``[10, 30]`` dB."""

    def __init__(self, min_snr: float = 10.0, max_snr: float = 30.0) -> None:
        self.min_snr = check_finite("min_snr", min_snr)
        self.max_snr = check_finite("max_snr", max_snr)
        _ordered("min_snr", self.min_snr, "max_snr", self.max_snr)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return add_noise_snr(x, self.min_snr, self.max_snr, generator)


@register("speed_perturb")
class SpeedPerturb(LabelPreserving):
    """Batch transform form of :func:`speed_perturb`. Defaults to Ko et al.'s (0.9, 1.0, 1.1)."""

    def __init__(self, factors: tuple[float, ...] = (0.9, 1.0, 1.1)) -> None:
        self.factors = _factors(factors)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return speed_perturb(x, self.factors, generator)


@register("spec_augment")
class SpecAugment(LabelPreserving):
    """Batch transform form of :func:`spec_augment`. Defaults: Park et al.'s LB policy (27, 100, 1, 1)."""

    def __init__(self, freq_mask: int = 27, time_mask: int = 100, n_freq_masks: int = 1, n_time_masks: int = 1,
                 mask_value: float = 0.0) -> None:
        self.freq_mask = check_int("freq_mask", freq_mask, low=0)
        self.time_mask = check_int("time_mask", time_mask, low=0)
        self.n_freq_masks = check_int("n_freq_masks", n_freq_masks, low=0)
        self.n_time_masks = check_int("n_time_masks", n_time_masks, low=0)
        self.mask_value = check_finite("mask_value", mask_value)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return spec_augment(x, min(self.freq_mask, x.shape[-2]), min(self.time_mask, x.shape[-1]),
                            self.n_freq_masks, self.n_time_masks, self.mask_value, generator)
