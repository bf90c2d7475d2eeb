"""Label smoothing equals PyTorch's own on hard labels and the paper's formula on soft targets."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from reglab.losses import LabelSmoothingCrossEntropy, label_smoothing_cross_entropy, soft_target_cross_entropy


def _data(gen: torch.Generator, n: int = 16, c: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    logits = torch.randn(n, c, generator=gen, dtype=torch.float64) * 3
    target = torch.randint(0, c, (n,), generator=gen)
    return logits, target


@pytest.mark.parametrize("smoothing", [0.0, 0.05, 0.1, 0.3, 1.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_hard_labels_equal_torch(gen, smoothing, reduction):
    logits, target = _data(gen)
    ours = label_smoothing_cross_entropy(logits, target, smoothing, reduction)
    ref = F.cross_entropy(logits, target, label_smoothing=smoothing, reduction=reduction)
    torch.testing.assert_close(ours, ref, rtol=0, atol=0)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.4])
def test_hard_labels_match_the_smoothed_target_formula(gen, smoothing):
    logits, target = _data(gen)
    c = logits.shape[1]
    q = F.one_hot(target, c).double() * (1 - smoothing) + smoothing / c
    manual = -(q * logits.log_softmax(1)).sum(1).mean()
    torch.testing.assert_close(label_smoothing_cross_entropy(logits, target, smoothing), manual, rtol=0, atol=1e-12)


def test_ignore_index_is_supported_like_torch(gen):
    logits, target = _data(gen)
    target[::3] = -1
    ours = label_smoothing_cross_entropy(logits, target, 0.2, ignore_index=-1)
    ref = F.cross_entropy(logits, target, label_smoothing=0.2, ignore_index=-1)
    torch.testing.assert_close(ours, ref, rtol=0, atol=0)


def test_spatial_logits_and_int32_labels(gen):
    logits = torch.randn(3, 5, 4, 2, generator=gen)
    target = torch.randint(0, 5, (3, 4, 2), generator=gen)
    ref = F.cross_entropy(logits, target, label_smoothing=0.1)
    torch.testing.assert_close(label_smoothing_cross_entropy(logits, target.int(), 0.1), ref, rtol=0, atol=0)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.25])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_soft_targets_follow_the_formula(gen, smoothing, reduction):
    logits, _ = _data(gen)
    q = torch.softmax(torch.randn(logits.shape, generator=gen, dtype=torch.float64), 1)
    c = logits.shape[1]
    smoothed = q * (1 - smoothing) + smoothing / c
    per_sample = -(smoothed * logits.log_softmax(1)).sum(1)
    manual = {"mean": per_sample.mean(), "sum": per_sample.sum(), "none": per_sample}[reduction]
    ours = label_smoothing_cross_entropy(logits, q, smoothing, reduction)
    torch.testing.assert_close(ours, manual, rtol=0, atol=1e-12)
    # torch's probability-target path applies the same smoothing
    torch.testing.assert_close(ours, F.cross_entropy(logits, q, label_smoothing=smoothing, reduction=reduction))


def test_one_hot_targets_equal_hard_labels(gen):
    logits, target = _data(gen)
    one_hot = F.one_hot(target, logits.shape[1]).double()
    torch.testing.assert_close(
        label_smoothing_cross_entropy(logits, one_hot, 0.15),
        label_smoothing_cross_entropy(logits, target, 0.15),
        rtol=0,
        atol=1e-12,
    )


def test_soft_target_cross_entropy_formula_and_gradient(gen):
    logits, _ = _data(gen)
    logits.requires_grad_(True)
    q = torch.softmax(torch.randn(logits.shape, generator=gen, dtype=torch.float64), 1)
    loss = soft_target_cross_entropy(logits, q)
    manual = -(q * logits.log_softmax(1)).sum(1).mean()
    torch.testing.assert_close(loss, manual, rtol=0, atol=1e-12)
    loss.backward()
    # d/dz of -sum q log softmax(z) = softmax(z) - q (rows of q sum to 1), divided by N for 'mean'
    expected = (torch.softmax(logits.detach(), 1) - q) / logits.shape[0]
    torch.testing.assert_close(logits.grad, expected, rtol=0, atol=1e-12)


def test_soft_target_cross_entropy_unbatched():
    logits = torch.tensor([1.0, 2.0, 0.5])
    q = torch.tensor([0.2, 0.5, 0.3])
    manual = -(q * logits.log_softmax(0)).sum()
    torch.testing.assert_close(soft_target_cross_entropy(logits, q, "none"), manual)


def test_module_matches_function_and_round_trips(gen):
    logits, target = _data(gen)
    loss_fn = LabelSmoothingCrossEntropy(0.2, reduction="sum")
    assert repr(loss_fn) == "LabelSmoothingCrossEntropy(smoothing=0.2, reduction='sum')"
    torch.testing.assert_close(
        loss_fn(logits, target), F.cross_entropy(logits, target, label_smoothing=0.2, reduction="sum"), rtol=0, atol=0
    )
    config = loss_fn.get_config()
    assert config == {"smoothing": 0.2, "reduction": "sum", "ignore_index": -100}
    assert LabelSmoothingCrossEntropy.from_config(config).get_config() == config
    assert LabelSmoothingCrossEntropy().smoothing == 0.1


def test_registered_name():
    import reglab

    loss_fn = reglab.get("label_smoothing", smoothing=0.3)
    assert isinstance(loss_fn, LabelSmoothingCrossEntropy)
    assert loss_fn.smoothing == 0.3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"smoothing": 1.5}, "Invalid value for argument `smoothing`. Expected a number in [0, 1]. Received: smoothing=1.5"),
        ({"smoothing": -0.1}, "Invalid value for argument `smoothing`. Expected a number in [0, 1]. Received: smoothing=-0.1"),
        (
            {"reduction": "avg"},
            "Invalid value for argument `reduction`. Expected one of 'mean', 'sum', 'none'. Received: reduction='avg'",
        ),
    ],
)
def test_bad_arguments_full_message(gen, kwargs, message):
    logits, target = _data(gen)
    with pytest.raises(ValueError) as exc:
        label_smoothing_cross_entropy(logits, target, **kwargs)
    assert str(exc.value) == message
    with pytest.raises(ValueError) as exc:
        LabelSmoothingCrossEntropy(**kwargs)
    assert str(exc.value) == message


def test_bad_tensors_full_message(gen):
    logits, target = _data(gen, n=4, c=3)
    cases = [
        (
            lambda: label_smoothing_cross_entropy(logits, target[:3]),
            "Invalid value for argument `target`. Expected class indices of shape (4,) (the logits' shape without"
            " the class dimension) or a distribution of shape (4, 3). Received: target.shape=(3,)",
        ),
        (
            lambda: label_smoothing_cross_entropy(logits, torch.rand(4, 2, dtype=torch.float64)),
            "Invalid value for argument `target`. Expected a tensor of the logits' shape (4, 3)."
            " Received: target.shape=(4, 2)",
        ),
        (
            lambda: label_smoothing_cross_entropy(logits, target.bool()),
            "Invalid value for argument `target`. Expected integer class indices or a floating-point distribution."
            " Received: target.dtype=torch.bool",
        ),
        (
            lambda: label_smoothing_cross_entropy(target, target),
            "Invalid value for argument `logits`. Expected a floating-point tensor. Received: logits.dtype=torch.int64",
        ),
        (
            lambda: label_smoothing_cross_entropy(logits, [0, 1, 2, 0]),
            "Invalid value for argument `target`. Expected a torch.Tensor. Received: target of type list",
        ),
        (
            lambda: soft_target_cross_entropy(logits, target),
            "Invalid value for argument `soft_target`. Expected a floating-point tensor."
            " Received: soft_target.dtype=torch.int64",
        ),
    ]
    for call, message in cases:
        with pytest.raises(ValueError) as exc:
            call()
        assert str(exc.value) == message
