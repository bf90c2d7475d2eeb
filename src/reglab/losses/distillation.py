"""Knowledge distillation loss (Hinton, Vinyals & Dean 2015).

Hinton et al. 2015, "Distilling the Knowledge in a Neural Network", NIPS Deep Learning Workshop,
arXiv:1503.02531: the student matches the teacher's class probabilities softened by a temperature
``T``; the soft term's gradients scale as ``1/T^2``, so it is multiplied by ``T^2`` to keep the
two terms' relative weight independent of ``T``::

    loss = alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, target)

with the KL divergence summed over classes and averaged over the batch (``batchmean``). Several
teachers (an ensemble, as in the paper's speech experiments) are distilled by averaging their
softened probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reglab._validate import check_ndim
from reglab.errors import invalid_argument
from reglab.losses import _checks
from reglab.losses.label_smoothing import label_smoothing_cross_entropy
from reglab.registry import Configurable, register

__all__ = ["distillation_loss", "DistillationLoss"]


def _teacher_log_probs(teacher_logits: Tensor | Sequence[Tensor], student_logits: Tensor, temperature: float) -> Tensor:
    """``log`` of the (averaged) softened teacher probabilities, detached; shape of the student's."""
    if isinstance(teacher_logits, Tensor):
        teachers: list[Tensor] = [teacher_logits]
    elif isinstance(teacher_logits, (list, tuple)) and len(teacher_logits) > 0:
        teachers = list(teacher_logits)
    else:
        is_seq = isinstance(teacher_logits, (list, tuple))
        shown = None if is_seq else f"teacher_logits of type {type(teacher_logits).__name__}"
        raise ValueError(
            invalid_argument("teacher_logits", "a tensor or a non-empty list of tensors", teacher_logits, shown=shown)
        )
    for i, t in enumerate(teachers):
        name = "teacher_logits" if len(teachers) == 1 and isinstance(teacher_logits, Tensor) else f"teacher_logits[{i}]"
        _checks.floating(name, t)
        if t.shape != student_logits.shape:
            raise ValueError(
                invalid_argument(
                    name,
                    f"a tensor of the student logits' shape {tuple(student_logits.shape)}",
                    None,
                    shown=f"{name}.shape={tuple(t.shape)}",
                )
            )
    logs = [F.log_softmax(t.detach() / temperature, dim=1) for t in teachers]
    if len(logs) == 1:
        return logs[0]
    # log(mean_k p_k) = logsumexp_k(log p_k) - log K: exact and stable for tiny probabilities.
    return torch.logsumexp(torch.stack(logs), dim=0) - math.log(len(logs))


def distillation_loss(
    student_logits: Tensor,
    teacher_logits: Tensor | Sequence[Tensor],
    target: Tensor | None = None,
    temperature: float = 4.0,
    alpha: float = 0.9,
) -> Tensor:
    """Hinton et al. 2015 distillation loss; see the module docstring for the formula.

    Args:
        student_logits: ``(N, C)`` logits of the model being trained.
        teacher_logits: ``(N, C)`` teacher logits, or a list of them for ensemble distillation
            (their softened probabilities are averaged). Always detached: no gradient reaches a
            teacher.
        target: hard labels ``(N,)`` or soft targets ``(N, C)`` for the ``(1 - alpha)`` term; may be
            omitted only when ``alpha == 1``. Defaults to None.
        temperature: the softening temperature ``T > 0``. Defaults to 4.0.
        alpha: weight in [0, 1] of the soft (distillation) term; ``alpha=0`` is the plain
            cross-entropy and ``alpha=1`` the pure distillation loss (each computed alone).
            Defaults to 0.9.

    Returns:
        A scalar tensor.
    """
    temperature = _checks.positive("temperature", temperature)
    alpha = _checks.probability("alpha", alpha)
    _checks.floating("student_logits", student_logits)
    check_ndim("student_logits", student_logits, (2,))
    if alpha < 1.0 and target is None:
        raise ValueError(
            invalid_argument("target", f"labels or soft targets when alpha < 1 (alpha={alpha})", None)
        )
    if alpha > 0.0:
        log_teacher = _teacher_log_probs(teacher_logits, student_logits, temperature)
        log_student = F.log_softmax(student_logits / temperature, dim=1)
        kd = F.kl_div(log_student, log_teacher, reduction="batchmean", log_target=True)
        soft = (alpha * temperature * temperature) * kd
        if alpha == 1.0:
            return soft
    hard = (1.0 - alpha) * label_smoothing_cross_entropy(student_logits, target, 0.0)  # type: ignore[arg-type]
    return hard if alpha == 0.0 else soft + hard


@register("distillation")
class DistillationLoss(nn.Module, Configurable):
    """Module form of :func:`distillation_loss` (Hinton et al. 2015, arXiv:1503.02531).

    ``forward(student_logits, teacher_logits_or_list, target=None)``.

    Args:
        temperature: softening temperature ``T > 0``; the paper used 1-20 (20 on MNIST).
            Defaults to 4.0.
        alpha: weight in [0, 1] of the ``T^2``-scaled soft term. Defaults to 0.9.
    """

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9) -> None:
        super().__init__()
        self.temperature = _checks.positive("temperature", temperature)
        self.alpha = _checks.probability("alpha", alpha)

    def forward(
        self,
        student_logits: Tensor,
        teacher_logits: Tensor | Sequence[Tensor],
        target: Tensor | None = None,
    ) -> Tensor:
        return distillation_loss(student_logits, teacher_logits, target, self.temperature, self.alpha)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, alpha={self.alpha}"
