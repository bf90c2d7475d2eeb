"""Augmentations of 1-D signals and time series, batch-level with one draw per sample.

Inputs are ``(N, L)`` or ``(N, C, L)`` float tensors with time on the last axis; every channel of a
sample gets the same draw. The ops follow Um et al. 2017 ("Data Augmentation of Wearable Sensor
Data for Parkinson's Disease Monitoring using Convolutional Neural Networks", ICMI,
arXiv:1706.00527: jittering, scaling, time warping, cropping) and, for the random shift, the
MNIST-1D benchmark, whose classes are invariant to translation (Greydanus & Steinbach 2020,
arXiv:2011.14439).

============================  ==================================================================
:func:`random_shift`          roll by ``k ~ U{-max_shift..max_shift}`` (circular or zero-padded)
:func:`random_scale`          multiply by ``s ~ N(1, sigma^2)``
:func:`jitter`                add ``N(0, sigma^2)`` noise to every value
:func:`time_stretch`          resample around the centre by a factor ``U[1 - r, 1 + r]``
:func:`random_crop_resize`    crop a window of ``U[min_scale, 1]`` of the length, resize back
:func:`cutout_1d`             zero a window of ``size`` samples centred uniformly (clipped)
============================  ==================================================================

Each zero magnitude (``max_shift=0``, ``sigma=0``, ``max_stretch=0``, ``min_scale=1``,
``size=0``) returns the input's values unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from reglab._validate import check_choice, check_int
from reglab.augment._common import check_finite, check_tensor, interp_last, normal, randint, uniform
from reglab.augment.base import LabelPreserving
from reglab.registry import register

__all__ = [
    "shift_signal",
    "random_shift",
    "random_scale",
    "jitter",
    "time_stretch",
    "random_crop_resize",
    "cutout_1d",
    "RandomShift",
    "RandomScale",
    "Jitter",
    "TimeStretch",
    "RandomCropResize1d",
    "Cutout1d",
]

SHIFT_MODES = ("circular", "zero")


def _signal(x: Any) -> Tensor:
    return check_tensor("x", x, (2, 3))


def shift_signal(x: Tensor, shifts: Tensor, mode: str = "circular", max_shift: int | None = None) -> Tensor:
    """Shift each sample of ``x`` right by ``shifts[i]`` samples (negative: left). Deterministic.

    ``out[i, ..., t] = x[i, ..., (t - shifts[i]) mod L]`` (``"circular"``), or that value when
    ``0 <= t - shifts[i] < L`` and 0 otherwise (``"zero"``), exactly as ``torch.roll`` does per sample.
    The signal is padded by ``m = max |shifts|`` on both sides (wrapped or zeros) and read with one
    ``gather``; pass ``max_shift`` when it is known to skip computing ``m``.
    """
    mode = check_choice("mode", mode, SHIFT_MODES)
    length = x.shape[-1]
    shifts = shifts.to(x.device).long()
    m = int(shifts.abs().max()) if max_shift is None and shifts.numel() else (max_shift or 0)
    if mode == "circular":
        if m > length:  # wraps more than once: reduce the shifts first
            return shift_signal(x, shifts.remainder(length), mode, length)
        padded = torch.cat([x[..., length - m:], x, x[..., :m]], dim=-1) if m else x
    else:
        m = min(m, length)
        shifts = shifts.clamp(-m, m)  # a shift of L or more empties the signal either way
        padded = F.pad(x, (m, m)) if m else x
    index = torch.arange(m, length + m, device=x.device).sub(shifts[:, None])  # (N, L), in [0, L + 2m)
    if x.dim() > 2:
        index = index.view((x.shape[0],) + (1,) * (x.dim() - 2) + (length,)).expand(x.shape)
    return padded.gather(-1, index)


def random_shift(x: Tensor, max_shift: int, mode: str = "circular",
                 generator: torch.Generator | None = None) -> Tensor:
    """Shift every sample by its own ``k`` uniform over ``{-max_shift, ..., max_shift}``.

    Args:
        x: ``(N, L)`` or ``(N, C, L)`` signals. Not modified.
        max_shift: the largest shift in samples, ``>= 0`` (0: unchanged).
        mode: ``"circular"`` wraps around (``torch.roll``); ``"zero"`` fills the vacated samples with
            zeros. Defaults to ``"circular"``.
        generator: the random source. Defaults to None (PyTorch's global CPU generator).
    """
    max_shift = check_int("max_shift", max_shift, low=0)
    mode = check_choice("mode", mode, SHIFT_MODES)
    x = _signal(x)
    shifts = randint(x.shape[0], -max_shift, max_shift, generator, x.device)
    return shift_signal(x, shifts, mode, max_shift)


def random_scale(x: Tensor, sigma: float, generator: torch.Generator | None = None) -> Tensor:
    """Multiply every sample by its own ``s ~ N(1, sigma^2)`` (Um et al. 2017's scaling).

    Args:
        x: ``(N, L)`` or ``(N, C, L)`` signals.
        sigma: the standard deviation of the factor, ``>= 0``.
        generator: the random source. Defaults to None.
    """
    sigma = check_finite("sigma", sigma, 0.0)
    x = _signal(x)
    s = 1.0 + sigma * normal((x.shape[0],), generator, x.device, x.dtype)
    return x * s.view((-1,) + (1,) * (x.dim() - 1))


def jitter(x: Tensor, sigma: float, generator: torch.Generator | None = None) -> Tensor:
    """Add independent ``N(0, sigma^2)`` noise to every value (Um et al. 2017's jittering).

    Args:
        x: ``(N, L)`` or ``(N, C, L)`` signals.
        sigma: the noise standard deviation, ``>= 0``.
        generator: the random source. Defaults to None.
    """
    sigma = check_finite("sigma", sigma, 0.0)
    x = _signal(x)
    return x + sigma * normal(tuple(x.shape), generator, x.device, x.dtype)


def time_stretch(x: Tensor, max_stretch: float, generator: torch.Generator | None = None) -> Tensor:
    """Stretch (or squeeze) every sample in time around its centre, keeping the length.

    Each sample draws ``f ~ U[1 - max_stretch, 1 + max_stretch]`` and reads
    ``out[t] = x[c + (t - c) / f]`` with ``c = (L - 1) / 2``, by linear interpolation; positions
    outside the signal repeat its end values. ``f > 1`` slows the signal down (zooms in).

    Args:
        x: ``(N, L)`` or ``(N, C, L)`` signals.
        max_stretch: the largest relative change of speed, in ``[0, 1)``.
        generator: the random source. Defaults to None.
    """
    max_stretch = check_finite("max_stretch", max_stretch, 0.0, 1.0, high_inclusive=False)
    x = _signal(x)
    n, length = x.shape[0], x.shape[-1]
    f = uniform(n, 1.0 - max_stretch, 1.0 + max_stretch, generator, x.device).double()
    c = (length - 1) / 2.0
    t = torch.arange(length, device=x.device, dtype=torch.float64)
    src = c + (t[None, :] - c) / f[:, None]
    return interp_last(x, src)


def random_crop_resize(x: Tensor, min_scale: float, generator: torch.Generator | None = None) -> Tensor:
    """Crop a random window of every sample and resize it back to the full length.

    Each sample draws a window length ``w`` uniform over the integers in
    ``[ceil(min_scale * L), L]`` and a start uniform over ``{0, ..., L - w}``, then reads
    ``out[t] = x[start + t * (w - 1) / (L - 1)]`` by linear interpolation (Um et al. 2017's cropping,
    Le Guennec et al. 2016's window slicing).

    Args:
        x: ``(N, L)`` or ``(N, C, L)`` signals, ``L >= 2``.
        min_scale: the smallest window as a fraction of the length, in ``(0, 1]`` (1: unchanged).
        generator: the random source. Defaults to None.
    """
    min_scale = check_finite("min_scale", min_scale, 0.0, 1.0, low_inclusive=False)
    x = _signal(x)
    n, length = x.shape[0], x.shape[-1]
    low = min(length, max(1, int(-(-min_scale * length // 1))))
    w = randint(n, low, length, generator, x.device)
    start = randint(n, 0, length - w, generator, x.device)
    t = torch.arange(length, device=x.device, dtype=torch.float64)
    step = (w - 1).double() / max(length - 1, 1)
    src = start.double()[:, None] + t[None, :] * step[:, None]
    return interp_last(x, src)


def cutout_1d(x: Tensor, size: int, generator: torch.Generator | None = None) -> Tensor:
    """Zero a window of ``size`` samples per sample, centred uniformly over the length and clipped.

    The 1-D form of cutout (DeVries & Taylor 2017): samples ``c - size // 2`` to
    ``c - size // 2 + size`` (exclusive) with ``c`` uniform over ``{0, ..., L - 1}``.

    Args:
        x: ``(N, L)`` or ``(N, C, L)`` signals (any dtype).
        size: the window length, ``>= 0``.
        generator: the random source. Defaults to None.
    """
    size = check_int("size", size, low=0)
    x = check_tensor("x", x, (2, 3), floating=False)
    n, length = x.shape[0], x.shape[-1]
    c = randint(n, 0, length - 1, generator, x.device)
    left = (c - size // 2)[:, None]
    t = torch.arange(length, device=x.device)[None, :]
    inside = (t >= left) & (t < left + size)
    return x.masked_fill(inside.view((n,) + (1,) * (x.dim() - 2) + (length,)), 0)


@register("random_shift")
class RandomShift(LabelPreserving):
    """Batch transform form of :func:`random_shift`.

    Args:
        max_shift: the largest shift in samples. Defaults to 4 (MNIST-1D: +-4 of 40 samples).
        mode: ``"circular"`` or ``"zero"``. Defaults to ``"circular"``.
    """

    def __init__(self, max_shift: int = 4, mode: str = "circular") -> None:
        self.max_shift = check_int("max_shift", max_shift, low=0)
        self.mode = check_choice("mode", mode, SHIFT_MODES)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return random_shift(x, self.max_shift, self.mode, generator)


@register("random_scale")
class RandomScale(LabelPreserving):
    """Batch transform form of :func:`random_scale`.

    Args:
        sigma: the factor's standard deviation. Defaults to 0.1 (Um et al. 2017).
    """

    def __init__(self, sigma: float = 0.1) -> None:
        self.sigma = check_finite("sigma", sigma, 0.0)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return random_scale(x, self.sigma, generator)


@register("jitter")
class Jitter(LabelPreserving):
    """Batch transform form of :func:`jitter`.

    Args:
        sigma: the noise standard deviation. Defaults to 0.03 (Um et al. 2017's jitter on raw
            sensor data; use ~0.1 on standardised inputs).
    """

    def __init__(self, sigma: float = 0.03) -> None:
        self.sigma = check_finite("sigma", sigma, 0.0)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return jitter(x, self.sigma, generator)


@register("time_stretch")
class TimeStretch(LabelPreserving):
    """Batch transform form of :func:`time_stretch`.

    Args:
        max_stretch: the largest relative change of speed, in ``[0, 1)``. Defaults to 0.2.
    """

    def __init__(self, max_stretch: float = 0.2) -> None:
        self.max_stretch = check_finite("max_stretch", max_stretch, 0.0, 1.0, high_inclusive=False)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return time_stretch(x, self.max_stretch, generator)


@register("random_crop_resize_1d")
class RandomCropResize1d(LabelPreserving):
    """Batch transform form of :func:`random_crop_resize`.

    Args:
        min_scale: the smallest window as a fraction of the length, in ``(0, 1]``. Defaults to 0.8.
    """

    def __init__(self, min_scale: float = 0.8) -> None:
        self.min_scale = check_finite("min_scale", min_scale, 0.0, 1.0, low_inclusive=False)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return random_crop_resize(x, self.min_scale, generator)


@register("cutout_1d")
class Cutout1d(LabelPreserving):
    """Batch transform form of :func:`cutout_1d`.

    Args:
        size: the window length in samples. Defaults to 4.
    """

    def __init__(self, size: int = 4) -> None:
        self.size = check_int("size", size, low=0)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return cutout_1d(x, self.size, generator)
