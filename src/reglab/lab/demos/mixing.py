"""Demo 5, mixup / CutMix and label smoothing on a batch of digits.

mixup (Zhang et al. 2018, "mixup: Beyond Empirical Risk Minimization", ICLR, arXiv:1710.09412)
blends two images and their one-hot targets with ``lam ~ Beta(alpha, alpha)``; CutMix (Yun et
al. 2019, ICCV, arXiv:1905.04899) pastes a box of one image into another and mixes the targets
by the pasted area. Label smoothing (Szegedy et al. 2016, arXiv:1512.00567) then trains against
``(1 - eps) * target + eps / K``. The batch is mixed by ``reglab.augment`` itself.
"""

from __future__ import annotations

import functools
from typing import Any

import torch

from reglab.lab.demos.common import clean
from reglab.lab.schemas import MixQuery

__all__ = ["mix_payload", "smooth", "BATCH"]

BATCH = 6  # digits shown (and mixed among themselves)


@functools.lru_cache(maxsize=1)
def _digits() -> Any:
    from reglab.data import load

    return load("digits", seed=0)


def smooth(target: torch.Tensor, eps: float) -> torch.Tensor:
    """``(1 - eps) * target + eps / K``: the distribution label smoothing trains against."""
    return (1.0 - eps) * target + eps / target.shape[-1]


def mix_payload(q: MixQuery) -> dict[str, Any]:
    """A batch of :data:`BATCH` digits, the batch mixed by ``reglab.augment``, soft and smoothed targets."""
    from reglab.augment import cutmix, mixup

    splits = _digits()
    num_classes = splits.info.num_classes
    pick = torch.Generator().manual_seed(q.seed)
    idx = torch.randperm(len(splits.x_train), generator=pick)[:BATCH]
    x = splits.x_train[idx].reshape(BATCH, 1, 8, 8)
    y = splits.y_train[idx]
    fn = mixup if q.method == "mixup" else cutmix
    mixed, soft = fn(x, y, alpha=q.alpha, num_classes=num_classes, generator=torch.Generator().manual_seed(q.seed))
    return {
        "method": q.method,
        "alpha": q.alpha,
        "smoothing": q.smoothing,
        "seed": q.seed,
        "num_classes": num_classes,
        "labels": y.tolist(),
        "images": clean(x.reshape(BATCH, 8, 8), 4),
        "mixed": clean(mixed.reshape(BATCH, 8, 8), 4),
        "soft_targets": clean(soft, 4),
        "smoothed_targets": clean(smooth(soft, q.smoothing), 4),
    }
