"""The losses on a CUDA device agree with PyTorch and with the CPU (skipped without CUDA)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from reglab.losses import distillation_loss, label_smoothing_cross_entropy

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_losses_on_cuda(gen):
    logits = torch.randn(32, 10, generator=gen)
    teachers = [torch.randn(32, 10, generator=gen) for _ in range(2)]
    target = torch.randint(0, 10, (32,), generator=gen)
    soft = torch.softmax(torch.randn(32, 10, generator=gen), 1)
    lc, tc, sc = logits.cuda(), target.cuda(), soft.cuda()
    torch.testing.assert_close(
        label_smoothing_cross_entropy(lc, tc, 0.1), F.cross_entropy(lc, tc, label_smoothing=0.1), rtol=0, atol=0
    )
    torch.testing.assert_close(
        label_smoothing_cross_entropy(lc, sc, 0.2).cpu(), label_smoothing_cross_entropy(logits, soft, 0.2)
    )
    torch.testing.assert_close(
        distillation_loss(lc, [t.cuda() for t in teachers], tc, 4.0, 0.7).cpu(),
        distillation_loss(logits, teachers, target, 4.0, 0.7),
    )
