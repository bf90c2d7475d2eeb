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


def mix_pairs(x: torch.Tensor, y: torch.Tensor, method: str, alpha: float, num_classes: int,
              generator: torch.Generator) -> dict[str, Any]:
    """Each digit mixed with the next one (``i`` with ``i + 1``, the last with the first: never
    with itself), every pair with its own draw, so one batch shows the spread of ``lam``.

    mixup: ``lam_i ~ Beta(alpha, alpha)`` and ``x_i' = lam_i x_i + (1 - lam_i) x_{i+1}``; CutMix: a
    box drawn by ``reglab.augment``'s CutMix sampler per pair, ``lam_i`` the fraction of pixels
    kept. Targets are ``lam_i onehot(y_i) + (1 - lam_i) onehot(y_{i+1})``. (Training with
    ``reglab.augment.mixup`` draws one ``lam`` per batch and a random pairing.)
    """
    from reglab.augment.params import sample_cutmix_params
    from reglab.augment.sampling import beta_values

    n = x.shape[0]
    partner = torch.roll(torch.arange(n), -1)
    onehot = torch.nn.functional.one_hot(y, num_classes).to(x.dtype)
    mixed = x.clone()
    if method == "mixup":
        lams = beta_values(alpha, alpha, n, generator)
        for i in range(n):
            mixed[i] = lams[i] * x[i] + (1.0 - lams[i]) * x[partner[i]]
    else:
        lams = []
        for i in range(n):
            params = sample_cutmix_params(1, x.shape[-2], x.shape[-1], alpha, generator)
            assert params.box is not None  # CutMix parameters always carry a box
            top, bottom, left, right = params.box
            mixed[i, :, top:bottom, left:right] = x[partner[i], :, top:bottom, left:right]
            lams.append(params.lam)
    lam = torch.tensor(lams, dtype=x.dtype)
    targets = lam[:, None] * onehot + (1.0 - lam[:, None]) * onehot[partner]
    return {"lam": lams, "partner": partner.tolist(), "images": mixed, "targets": targets}


def mix_payload(q: MixQuery) -> dict[str, Any]:
    """A batch of :data:`BATCH` digits, mixed per pair (:func:`mix_pairs`) and as one batch by
    ``reglab.augment`` (what training does; the "copy as code" snippet), with the targets."""
    from reglab.augment import cutmix, mixup

    splits = _digits()
    num_classes = splits.info.num_classes
    pick = torch.Generator().manual_seed(q.seed)
    idx = torch.randperm(len(splits.x_train), generator=pick)[:BATCH]
    x = splits.x_train[idx].reshape(BATCH, 1, 8, 8)
    y = splits.y_train[idx]
    fn = mixup if q.method == "mixup" else cutmix
    mixed, soft = fn(x, y, alpha=q.alpha, num_classes=num_classes, generator=torch.Generator().manual_seed(q.seed))
    pairs = mix_pairs(x, y, q.method, q.alpha, num_classes, torch.Generator().manual_seed(q.seed + 1))
    return {
        "pairs": clean({"lam": pairs["lam"], "partner": pairs["partner"],
                        "images": pairs["images"].reshape(BATCH, 8, 8), "targets": pairs["targets"],
                        "smoothed_targets": smooth(pairs["targets"], q.smoothing)}, 4),
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
