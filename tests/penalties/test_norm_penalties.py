"""L1, L2 and elastic-net penalties equal their sums written by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reglab.penalties import Penalty, elastic_net_penalty, l1_penalty, l2_penalty


def _tensors(gen):
    return [torch.randn(3, 4, generator=gen, dtype=torch.float64), torch.randn(5, generator=gen, dtype=torch.float64)]


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(6, 4)
        self.fc1 = nn.Linear(4, 8)
        self.norm = nn.LayerNorm(8)
        self.conv = nn.Conv1d(1, 2, 3)
        self.fc2 = nn.Linear(8, 3, bias=False)


def test_penalties_on_tensors_equal_manual_sums(gen):
    ts = _tensors(gen)
    l1 = sum(t.abs().sum() for t in ts)
    l2 = sum((t * t).sum() for t in ts)
    torch.testing.assert_close(l1_penalty(ts), l1, rtol=0, atol=1e-12)
    torch.testing.assert_close(l2_penalty(ts), l2, rtol=0, atol=1e-12)
    for ratio in (0.0, 0.3, 1.0):
        torch.testing.assert_close(elastic_net_penalty(ts, ratio), ratio * l1 + (1 - ratio) * l2, rtol=0, atol=1e-12)
    torch.testing.assert_close(elastic_net_penalty(ts), 0.5 * l1 + 0.5 * l2, rtol=0, atol=1e-12)
    # a generator of tensors and a single tensor work too
    torch.testing.assert_close(l2_penalty(t for t in ts), l2, rtol=0, atol=1e-12)
    torch.testing.assert_close(l1_penalty(ts[0]), ts[0].abs().sum(), rtol=0, atol=0)


def test_module_penalises_only_decayable_weights():
    torch.manual_seed(0)
    net = _Net()
    weights = [net.fc1.weight, net.conv.weight, net.fc2.weight]  # not the embedding, norm or biases
    torch.testing.assert_close(l2_penalty(net), sum((w * w).sum() for w in weights))
    torch.testing.assert_close(l1_penalty(net), sum(w.abs().sum() for w in weights))


def test_gradients_are_sign_and_twice_the_weight(gen):
    w = torch.randn(4, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    l1_penalty([w]).backward()
    torch.testing.assert_close(w.grad, torch.sign(w.detach()), rtol=0, atol=0)
    w.grad = None
    l2_penalty([w]).backward()
    torch.testing.assert_close(w.grad, 2 * w.detach(), rtol=0, atol=0)


def test_penalty_object(gen):
    ts = _tensors(gen)
    assert repr(Penalty("l1", 0.01)) == "Penalty(kind='l1', coefficient=0.01)"
    assert repr(Penalty("elastic_net", 0.1, 0.2)) == "Penalty(kind='elastic_net', coefficient=0.1, l1_ratio=0.2)"
    torch.testing.assert_close(Penalty("l1", 0.01)(ts), 0.01 * l1_penalty(ts), rtol=0, atol=0)
    torch.testing.assert_close(Penalty("l2", 0.5)(ts), 0.5 * l2_penalty(ts), rtol=0, atol=0)
    torch.testing.assert_close(
        Penalty("elastic_net", 0.1, 0.2)(ts), 0.1 * elastic_net_penalty(ts, 0.2), rtol=0, atol=0
    )
    config = Penalty("elastic_net", 0.1, 0.2).get_config()
    assert config == {"kind": "elastic_net", "coefficient": 0.1, "l1_ratio": 0.2}
    assert Penalty.from_config(config).get_config() == config


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: l1_penalty([]),
            "Invalid value for argument `params`. Expected at least one tensor to penalise. Received: an empty iterable",
        ),
        (
            lambda: l2_penalty(nn.Sequential(nn.LayerNorm(3))),
            "Invalid value for argument `params`. Expected at least one tensor to penalise."
            " Received: a Sequential with 0 decayable weights",
        ),
        (
            lambda: l2_penalty([torch.zeros(2), 3.0]),
            "Invalid value for argument `params`. Expected an nn.Module or an iterable of tensors."
            " Received: an iterable containing float",
        ),
        (
            lambda: l1_penalty(3.0),
            "Invalid value for argument `params`. Expected an nn.Module or an iterable of tensors."
            " Received: params of type float",
        ),
        (
            lambda: elastic_net_penalty([torch.zeros(2)], 1.5),
            "Invalid value for argument `l1_ratio`. Expected a number in [0, 1]. Received: l1_ratio=1.5",
        ),
        (
            lambda: Penalty("l3", 0.1),
            "Invalid value for argument `kind`. Expected one of 'l1', 'l2', 'elastic_net'. Received: kind='l3'",
        ),
        (
            lambda: Penalty("l2", -0.1),
            "Invalid value for argument `coefficient`. Expected a number in [0, inf). Received: coefficient=-0.1",
        ),
    ],
)
def test_bad_arguments_full_message(call, message):
    with pytest.raises(ValueError) as exc:
        call()
    assert str(exc.value) == message
