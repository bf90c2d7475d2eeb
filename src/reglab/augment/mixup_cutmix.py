"""Mixup or CutMix per batch, with label smoothing: the recipe of modern image classifiers.

Combines :func:`reglab.augment.mixup` (Zhang et al. 2018, arXiv:1710.09412) and
:func:`reglab.augment.cutmix` (Yun et al. 2019, arXiv:1905.04899) as timm's ``Mixup`` and
torchvision's ``RandomMixUp``/``RandomCutMix`` training references do: each batch is mixed with
probability ``prob``; a mixed batch uses CutMix with probability ``switch_prob`` (when both alphas
are positive), else mixup. Targets are label-smoothed (Szegedy et al. 2016) before mixing.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from reglab._validate import check_non_negative, check_probability
from reglab.augment.base import BatchTransform
from reglab.augment.params import MixParams, apply_mix, sample_cutmix_params, sample_mixup_params
from reglab.augment.sampling import generator_device
from reglab.augment.targets import check_batch, check_num_classes, to_soft_targets
from reglab.errors import invalid_argument
from reglab.registry import register

__all__ = ["MixupCutmix"]


@register("mixup_cutmix")
class MixupCutmix(BatchTransform):
    """Mixup or CutMix on each training batch; ``transform(x, y, generator) -> (x, y_soft)``.

    Randomness is drawn once per batch by :meth:`get_params` (two uniforms deciding whether and
    how to mix, then the chosen method's ``lam``, box and pairing), then applied
    deterministically, as torchvision's ``_get_params``/``_transform``.

    Args:
        mixup_alpha: mixup's Beta concentration, ``>= 0`` (0 disables mixup). Defaults to 0.8
            (timm/DeiT recipe).
        cutmix_alpha: CutMix's Beta concentration, ``>= 0`` (0 disables CutMix; inputs must be
            ``(N, C, H, W)`` images when it can be chosen). Defaults to 1.0.
        switch_prob: probability of CutMix for a mixed batch when both alphas are positive.
            Defaults to 0.5.
        prob: probability that a batch is mixed at all. Defaults to 1.0.
        label_smoothing: smoothing ``eps`` applied to the targets before mixing. Defaults to 0.0.
        num_classes: number of classes, required for class-index labels. Defaults to None.

    Raises:
        ValueError: a negative alpha, both alphas 0, a probability outside [0, 1].
    """

    def __init__(
        self,
        mixup_alpha: float = 0.8,
        cutmix_alpha: float = 1.0,
        switch_prob: float = 0.5,
        prob: float = 1.0,
        label_smoothing: float = 0.0,
        num_classes: int | None = None,
    ) -> None:
        self.mixup_alpha = check_non_negative("mixup_alpha", mixup_alpha)
        self.cutmix_alpha = check_non_negative("cutmix_alpha", cutmix_alpha)
        if self.mixup_alpha == 0.0 and self.cutmix_alpha == 0.0:
            raise ValueError(
                invalid_argument(
                    "mixup_alpha",
                    "mixup_alpha > 0 or cutmix_alpha > 0",
                    None,
                    shown=f"mixup_alpha={mixup_alpha!r}, cutmix_alpha={cutmix_alpha!r}",
                )
            )
        self.switch_prob = check_probability("switch_prob", switch_prob)
        self.prob = check_probability("prob", prob)
        self.label_smoothing = check_probability("label_smoothing", label_smoothing)
        self.num_classes = check_num_classes(num_classes)

    @property
    def uses_cutmix(self) -> bool:
        """Whether CutMix can be chosen (then inputs must be ``(N, C, H, W)``)."""
        if self.cutmix_alpha == 0.0 or self.prob == 0.0:
            return False
        return self.mixup_alpha == 0.0 or self.switch_prob > 0.0

    def get_params(self, x: Tensor, generator: torch.Generator | None = None) -> MixParams:
        """Draw this batch's parameters (``x`` only provides the shape).

        Draw order: two uniforms ``u`` (mix iff ``u[0] < prob``; CutMix iff ``u[1] <
        switch_prob`` when both alphas are positive), then the chosen method's draws.
        """
        u = torch.rand(2, generator=generator, device=generator_device(generator), dtype=torch.float64).tolist()
        if not u[0] < self.prob:
            return MixParams(lam=1.0)
        if self.mixup_alpha > 0.0 and self.cutmix_alpha > 0.0:
            use_cutmix = u[1] < self.switch_prob
        else:
            use_cutmix = self.cutmix_alpha > 0.0
        if use_cutmix:
            n, _, height, width = x.shape
            return sample_cutmix_params(n, height, width, self.cutmix_alpha, generator)
        return sample_mixup_params(x.shape[0], self.mixup_alpha, generator)

    def __call__(self, x: Tensor, y: Any, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        check_batch(x, image=self.uses_cutmix)
        y_soft = to_soft_targets(y, self.num_classes, x.shape[0], x.dtype, self.label_smoothing)
        return apply_mix(x, y_soft, self.get_params(x, generator))
