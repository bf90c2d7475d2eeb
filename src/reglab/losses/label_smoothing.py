"""Label smoothing and soft-target cross-entropy.

Label smoothing (Szegedy et al. 2016, "Rethinking the Inception Architecture for Computer Vision",
CVPR, arXiv:1512.00567) trains against ``(1 - eps) * onehot(y) + eps / C`` instead of the one-hot
target, which keeps the logits from growing without bound and usually improves calibration
(Müller, Kornblith & Hinton 2019, "When does label smoothing help?", NeurIPS, arXiv:1906.02629).

On hard (integer) labels :func:`label_smoothing_cross_entropy` is exactly
``F.cross_entropy(logits, target, label_smoothing=eps)`` and calls that fused op. Soft targets
(one-hot rows, mixup/CutMix targets, teacher probabilities) take the explicit formula of
:func:`soft_target_cross_entropy`, with the same smoothing applied to them.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reglab._validate import check_int
from reglab.errors import invalid_argument
from reglab.losses import _checks
from reglab.registry import Configurable, register

__all__ = ["label_smoothing_cross_entropy", "soft_target_cross_entropy", "LabelSmoothingCrossEntropy"]


def _check_soft_shape(logits: Tensor, soft_target: Tensor, name: str) -> None:
    if soft_target.shape != logits.shape:
        raise ValueError(
            invalid_argument(
                name,
                f"a tensor of the logits' shape {tuple(logits.shape)}",
                None,
                shown=f"{name}.shape={tuple(soft_target.shape)}",
            )
        )


def soft_target_cross_entropy(logits: Tensor, soft_target: Tensor, reduction: str = "mean") -> Tensor:
    """Cross-entropy against a target distribution: ``-sum_c q_c log softmax(logits)_c``.

    The loss of mixup/CutMix training (timm's ``SoftTargetCrossEntropy``). Equal to
    ``F.cross_entropy(logits, soft_target)`` with probability targets.

    Args:
        logits: ``(N, C)``, ``(N, C, d1, ...)`` or unbatched ``(C,)`` unnormalised scores.
        soft_target: a float tensor of the same shape whose entries along the class dimension
            sum to 1 (not checked). Negative entries are refused (they make the loss unbounded
            below; the check reads one number back from the device). Gradients flow into it if it
            requires them.
        reduction: ``'mean'`` (over samples and extra dimensions), ``'sum'`` or ``'none'``.
            Defaults to ``'mean'``.

    Returns:
        The reduced loss, or per-sample losses of shape ``logits.shape`` without the class
        dimension for ``reduction='none'``.
    """
    how = _checks.reduction(reduction)
    _checks.floating("logits", logits)
    _checks.floating("soft_target", soft_target)
    _check_soft_shape(logits, soft_target, "soft_target")
    _check_soft_values(soft_target, "soft_target", how)
    dim = _checks.class_dim(logits)
    loss = -(soft_target * F.log_softmax(logits, dim=dim)).sum(dim)
    return _checks.reduce(loss, how)


def _check_soft_values(soft_target: Tensor, name: str, reduction: str) -> None:
    """No negative probability; at least one sample for a mean."""
    _check_not_empty(soft_target.shape[:1] if soft_target.dim() > 1 else soft_target.shape, name, reduction)
    if soft_target.numel() and bool((soft_target < 0).any()):
        low = float(soft_target.min())
        raise ValueError(invalid_argument(name, "non-negative entries (probabilities)", low,
                                          shown=f"{name}.min()={low!r}"))


def _check_not_empty(batch_shape: Any, name: str, reduction: str) -> None:
    """The mean of no losses is NaN: refuse an empty batch under ``reduction='mean'``."""
    if reduction == "mean" and 0 in tuple(batch_shape):
        raise ValueError(invalid_argument(name, "at least one target (the mean of no losses is NaN)", None,
                                          shown=f"{name}.shape={tuple(batch_shape)}"))


def _check_range(logits: Tensor, target: Tensor, ignore_index: int) -> None:
    """Raise reglab's message for a class index outside ``[0, C - 1]`` (other than ``ignore_index``)."""
    classes = logits.shape[_checks.class_dim(logits)]
    bad = target[((target < 0) | (target >= classes)) & (target != ignore_index)]
    if bad.numel():
        first = int(bad.flatten()[0])
        raise ValueError(invalid_argument(
            "target", f"class indices in [0, {classes - 1}] (or ignore_index={ignore_index})", first,
            shown=f"target holds {first}"))


def label_smoothing_cross_entropy(
    logits: Tensor,
    target: Tensor,
    smoothing: float = 0.1,
    reduction: str = "mean",
    *,
    ignore_index: int = -100,
) -> Tensor:
    """Cross-entropy against ``(1 - smoothing) * target + smoothing / C`` (Szegedy et al. 2016).

    Hard labels go to PyTorch's fused ``F.cross_entropy(..., label_smoothing=smoothing)`` (same
    numbers, same speed). Soft targets (float tensors of the logits' shape: one-hot rows,
    mixup/CutMix targets) are smoothed the same way and scored with
    :func:`soft_target_cross_entropy`, i.e.
    ``(1 - smoothing) * CE(logits, target) + smoothing * mean_c(-log softmax(logits)_c)``.

    Args:
        logits: ``(N, C)``, ``(N, C, d1, ...)`` or unbatched ``(C,)`` unnormalised scores.
        target: class indices (an integer tensor of the logits' shape without the class
            dimension, in ``[0, C - 1]`` or ``ignore_index``) or a float tensor of the logits'
            shape holding a distribution over classes (no negative entry). An empty batch under
            ``reduction='mean'`` is refused (its mean is NaN).
        smoothing: the mass ``eps`` in [0, 1] spread uniformly over the ``C`` classes;
            0 gives the plain cross-entropy. Defaults to 0.1.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``. Defaults to ``'mean'`` (over the
            non-ignored samples for hard labels, as ``F.cross_entropy`` does).
        ignore_index: a hard label whose samples contribute no loss and no count (hard labels
            only). Defaults to -100, as in ``F.cross_entropy``.

    Example:
        >>> logits = torch.tensor([[2.0, 0.0, -1.0]])
        >>> bool(torch.isclose(label_smoothing_cross_entropy(logits, torch.tensor([0]), 0.1),
        ...      F.cross_entropy(logits, torch.tensor([0]), label_smoothing=0.1)))
        True
    """
    if not (type(smoothing) is float and 0.0 <= smoothing <= 1.0):
        smoothing = _checks.probability("smoothing", smoothing)
    if reduction not in _checks.REDUCTIONS:
        _checks.reduction(reduction)
    if type(target) is Tensor and target.dtype is torch.int64:
        if reduction == "mean" and target.numel() == 0:
            _check_not_empty(target.shape, "target", reduction)
        # Hot path: PyTorch's fused op, which validates shapes itself; a failure is translated
        # into reglab's message below when we can say what was wrong.
        try:
            return F.cross_entropy(
                logits, target, ignore_index=ignore_index, reduction=reduction, label_smoothing=smoothing
            )
        except (RuntimeError, ValueError, TypeError, IndexError):
            _check_hard(logits, target)
            _check_range(logits, target, ignore_index)
            raise
    if not isinstance(target, Tensor):
        raise ValueError(
            invalid_argument("target", "a torch.Tensor", target, shown=f"target of type {type(target).__name__}")
        )
    _checks.floating("logits", logits)
    if target.is_floating_point():
        if ignore_index != -100:
            raise ValueError(invalid_argument(
                "ignore_index", "-100 (the default) with probability targets: it applies to class indices only",
                ignore_index))
        _check_soft_shape(logits, target, "target")
        _check_soft_values(target, "target", reduction)
        dim = _checks.class_dim(logits)
        log_probs = F.log_softmax(logits, dim=dim)
        loss = -(target * log_probs).sum(dim)
        if smoothing > 0.0:
            loss = (1.0 - smoothing) * loss - smoothing * log_probs.mean(dim)
        return _checks.reduce(loss, reduction)
    if target.dtype == torch.bool or target.is_complex():
        raise ValueError(
            invalid_argument(
                "target",
                "integer class indices or a floating-point distribution",
                None,
                shown=f"target.dtype={target.dtype}",
            )
        )
    target = target.long()  # other integer dtypes
    _check_hard(logits, target)
    _check_not_empty(target.shape, "target", reduction)
    _check_range(logits, target, ignore_index)
    return F.cross_entropy(logits, target, ignore_index=ignore_index, reduction=reduction, label_smoothing=smoothing)


def _check_hard(logits: Any, target: Tensor) -> None:
    """Raise reglab's message for bad logits or a class-index target of the wrong shape."""
    _checks.floating("logits", logits)
    expected = logits.shape[:1] + logits.shape[2:] if logits.dim() > 1 else torch.Size([])
    if target.shape != expected:
        raise ValueError(
            invalid_argument(
                "target",
                f"class indices of shape {tuple(expected)} (the logits' shape without the class dimension)"
                f" or a distribution of shape {tuple(logits.shape)}",
                None,
                shown=f"target.shape={tuple(target.shape)}",
            )
        )


@register("label_smoothing")
class LabelSmoothingCrossEntropy(nn.Module, Configurable):
    """Module form of :func:`label_smoothing_cross_entropy` (Szegedy et al. 2016).

    Accepts hard labels and soft targets alike, so it is also the loss to pair with
    :class:`reglab.augment.MixupCutmix`.

    Args:
        smoothing: the mass spread uniformly over the classes, in [0, 1]. Defaults to 0.1.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``. Defaults to ``'mean'``.
        ignore_index: hard label ignored by the loss. Defaults to -100.
    """

    def __init__(self, smoothing: float = 0.1, reduction: str = "mean", ignore_index: int = -100) -> None:
        super().__init__()
        self.smoothing = _checks.probability("smoothing", smoothing)
        self.reduction = _checks.reduction(reduction)
        self.ignore_index = check_int("ignore_index", ignore_index)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return label_smoothing_cross_entropy(
            logits, target, self.smoothing, self.reduction, ignore_index=self.ignore_index
        )

    def extra_repr(self) -> str:
        return f"smoothing={self.smoothing}, reduction={self.reduction!r}"
