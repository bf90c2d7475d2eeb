"""Every invalid input to the batch transforms raises ValueError with the whole standard message."""

from __future__ import annotations

import pytest
import torch

from reglab.augment import CutMix, Cutout, Mixup, cutmix, cutout, mixup, to_soft_targets

X4 = torch.zeros(4, 1, 5, 5)
Y4 = torch.tensor([0, 1, 2, 1])

CASES = [
    (
        lambda: mixup(X4, Y4, 0.0, 3),
        "Invalid value for argument `alpha`. Expected a number in (0, inf). Received: alpha=0.0",
    ),
    (
        lambda: cutmix(X4, Y4, -1.0, 3),
        "Invalid value for argument `alpha`. Expected a number in (0, inf). Received: alpha=-1.0",
    ),
    (
        lambda: cutmix(torch.zeros(4, 25), Y4, 1.0, 3),
        "Invalid value for argument `x`. Expected a tensor with 4 dimensions. Received: x.ndim=2 (shape (4, 25))",
    ),
    (
        lambda: mixup(X4, Y4[:3], 0.2, 3),
        "Invalid value for argument `y`. Expected class indices of shape (4,) or soft targets of shape (4, 3)."
        " Received: y.shape=(3,)",
    ),
    (
        lambda: cutmix(X4, torch.zeros(5, 3), 1.0),
        "Invalid value for argument `y`. Expected class indices of shape (4,) or soft targets of shape (4, C)."
        " Received: y.shape=(5, 3)",
    ),
    (
        lambda: mixup(X4, torch.zeros(4, 2), 0.2, 3),
        "Invalid value for argument `y`. Expected class indices of shape (4,) or soft targets of shape (4, 3)."
        " Received: y.shape=(4, 2)",
    ),
    (
        lambda: mixup(X4, Y4, 0.2),
        "Invalid value for argument `num_classes`. Expected an integer >= 1 when y holds class indices."
        " Received: num_classes=None",
    ),
    (
        lambda: mixup(X4, Y4, 0.2, 2),
        "Invalid value for argument `y`. Expected class indices in [0, 1] (num_classes=2). Received: y.min()=0, y.max()=2",
    ),
    (
        lambda: cutmix(X4, torch.tensor([0, -1, 1, 1]), 1.0, 2),
        "Invalid value for argument `y`. Expected class indices in [0, 1] (num_classes=2). Received: y.min()=-1, y.max()=1",
    ),
    (
        lambda: mixup(X4, Y4.bool(), 0.2, 2),
        "Invalid value for argument `y`. Expected integer class indices or floating-point soft targets."
        " Received: y.dtype=torch.bool",
    ),
    (
        lambda: mixup(X4, [0, 1, 2, 1], 0.2, 3),
        "Invalid value for argument `y`. Expected a torch.Tensor. Received: y of type list",
    ),
    (
        lambda: mixup(X4.to(torch.uint8), Y4, 0.2, 3),
        "Invalid value for argument `x`. Expected a floating-point tensor. Received: x.dtype=torch.uint8",
    ),
    (
        lambda: mixup(torch.tensor(1.0), Y4, 0.2, 3),
        "Invalid value for argument `x`. Expected a tensor of shape (N, ...). Received: x.shape=()",
    ),
    (
        lambda: mixup(X4, Y4, 0.2, 2.5),
        "Invalid value for argument `num_classes`. Expected an integer >= 1. Received: num_classes=2.5",
    ),
    (
        lambda: cutout(X4, -1),
        "Invalid value for argument `size`. Expected an integer >= 0. Received: size=-1",
    ),
    (
        lambda: cutout(torch.zeros(4, 5, 5), 2),
        "Invalid value for argument `x`. Expected a tensor with 4 dimensions. Received: x.ndim=3 (shape (4, 5, 5))",
    ),
    (
        lambda: to_soft_targets(Y4, 3, 4, smoothing=1.5),
        "Invalid value for argument `smoothing`. Expected a number in [0, 1]. Received: smoothing=1.5",
    ),
    (lambda: Mixup(alpha=0), "Invalid value for argument `alpha`. Expected a number in (0, inf). Received: alpha=0"),
    (
        lambda: CutMix(num_classes=-3),
        "Invalid value for argument `num_classes`. Expected an integer >= 1. Received: num_classes=-3",
    ),
    (lambda: Cutout(size=2.0), "Invalid value for argument `size`. Expected an integer >= 0. Received: size=2.0"),
]


@pytest.mark.parametrize(("call", "message"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_full_message(call, message):
    with pytest.raises(ValueError) as exc:
        call()
    assert str(exc.value) == message


def test_odd_batch_and_single_sample():
    for n in (1, 3, 5):
        x = torch.randn(n, 2, 4, 4)
        y = torch.arange(n) % 2
        for fn in (mixup, cutmix):
            x_out, y_out = fn(x, y, 0.5, 2, torch.Generator().manual_seed(n))
            assert x_out.shape == x.shape and y_out.shape == (n, 2)
            torch.testing.assert_close(y_out.sum(1), torch.ones(n))
    # a single sample can only pair with itself: nothing changes
    x = torch.randn(1, 2, 4, 4)
    x_out, y_out = mixup(x, torch.tensor([1]), 0.5, 2, torch.Generator().manual_seed(0))
    torch.testing.assert_close(x_out, x)
    torch.testing.assert_close(y_out, torch.tensor([[0.0, 1.0]]))
