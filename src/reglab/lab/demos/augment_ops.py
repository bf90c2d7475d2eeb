"""The few augmentation ops the lab's demos use, kept private and minimal.

A placeholder for ``reglab.augment``'s augmentation library: each op draws from the generator it
is given, one draw per sample, and returns a new tensor.
"""

from __future__ import annotations

import torch

__all__ = ["jitter", "circular_shift", "random_crop", "jitter_transform"]


def jitter(x: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """``x + std * N(0, 1)``, a fresh draw per element (inputs are standardized: ``std`` is in
    units of the feature's spread)."""
    return x + std * torch.randn(x.shape, generator=generator, dtype=x.dtype)


def circular_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Roll each sample of ``(N, L)`` by its own shift drawn uniformly from ``[-max_shift, max_shift]``:
    ``out[i, t] = x[i, (t - s_i) mod L]``."""
    n, length = x.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (n,), generator=generator)
    index = (torch.arange(length)[None, :] - shifts[:, None]) % length
    return torch.gather(x, 1, index)


def jitter_transform(std: float, seed: int):
    """A Trainer ``batch_transform`` adding :func:`jitter` to each training batch (labels kept)."""
    generator = torch.Generator().manual_seed(seed)

    def transform(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return jitter(x, std, generator), y

    return transform


def random_crop(x: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """Zero-pad images ``(N, C, H, W)`` by ``pad`` on every side and crop each back to ``H x W`` at
    its own offset drawn uniformly from ``[0, 2 pad]`` per axis (a shift of up to ``pad`` pixels)."""
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator)
    return torch.stack([padded[i, :, int(dy):int(dy) + h, int(dx):int(dx) + w] for i, (dy, dx) in enumerate(offsets)])
