"""AdamW parameter groups: a partition that decays weights only."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reglab.penalties import DEFAULT_SKIP, decay_parameters, no_decay_parameters, param_groups


class _Everything(nn.Module):
    """A model with every kind of parameter the rule must sort."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 8)
        self.pos_embed = nn.Parameter(torch.zeros(1, 5, 8))  # 3-D, excluded via no_weight_decay()
        self.conv = nn.Conv1d(8, 8, 3)
        self.bn = nn.BatchNorm1d(8)
        self.gn = nn.GroupNorm(2, 8)
        self.ln = nn.LayerNorm(8)
        self.rms = nn.RMSNorm(8)
        self.attn = nn.MultiheadAttention(8, 2)  # in_proj_weight (2-D), in_proj_bias, out_proj
        self.fc = nn.Linear(8, 4)
        self.scale = nn.Parameter(torch.ones(4))  # 1-D: never decayed
        self.frozen = nn.Linear(4, 4)
        self.frozen.requires_grad_(False)

    def no_weight_decay(self) -> set[str]:
        return {"pos_embed"}


def _names(model, params):
    ids = {id(p) for p in params}
    return sorted(n for n, p in model.named_parameters() if id(p) in ids)


def test_partition_and_exclusions():
    model = _Everything()
    groups = param_groups(model, 0.05)
    assert [g["weight_decay"] for g in groups] == [0.05, 0.0]
    decayed, rest = groups[0]["params"], groups[1]["params"]
    assert _names(model, decayed) == ["attn.in_proj_weight", "attn.out_proj.weight", "conv.weight", "fc.weight"]
    assert _names(model, rest) == [
        "attn.in_proj_bias",
        "attn.out_proj.bias",
        "bn.bias",
        "bn.weight",
        "conv.bias",
        "embed.weight",
        "fc.bias",
        "gn.bias",
        "gn.weight",
        "ln.bias",
        "ln.weight",
        "pos_embed",
        "rms.weight",
        "scale",
    ]
    # every trainable parameter in exactly one group; frozen ones in none
    all_ids = [id(p) for g in groups for p in g["params"]]
    assert len(all_ids) == len(set(all_ids))
    assert set(all_ids) == {id(p) for p in model.parameters() if p.requires_grad}
    assert decay_parameters(model) == decayed
    assert no_decay_parameters(model) == rest


def test_groups_work_with_adamw():
    model = _Everything()
    opt = torch.optim.AdamW(param_groups(model, 0.1), lr=1e-3)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]
    # decoupled decay with zero gradient: decayed weights shrink by lr * wd, the rest stay put
    for p in model.parameters():
        p.grad = torch.zeros_like(p) if p.requires_grad else None
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt.step()
    after = dict(model.named_parameters())
    torch.testing.assert_close(after["fc.weight"].detach(), before["fc.weight"] * (1 - 1e-3 * 0.1))
    assert torch.equal(after["ln.weight"].detach(), before["ln.weight"])
    assert torch.equal(after["embed.weight"].detach(), before["embed.weight"])


def test_tied_weights_appear_once_and_are_not_decayed():
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(7, 4)
            self.head = nn.Linear(4, 7, bias=False)
            self.head.weight = self.wte.weight

    model = Tied()
    groups = param_groups(model, 0.1)
    assert groups[0]["params"] == []
    assert len(groups[1]["params"]) == 1 and groups[1]["params"][0] is model.wte.weight


def test_custom_skip():
    model = _Everything()
    # skip nothing but names: embeddings decay now, 1-D parameters still never do
    decayed = _names(model, decay_parameters(model, skip=("bias",)))
    assert decayed == ["attn.in_proj_weight", "attn.out_proj.weight", "conv.weight", "embed.weight", "fc.weight"]
    decayed = _names(model, decay_parameters(model, skip=(nn.Linear, "conv.weight")))
    assert decayed == ["attn.in_proj_weight", "embed.weight"]  # out_proj is an nn.Linear subclass
    assert "bias" in DEFAULT_SKIP and nn.LayerNorm in DEFAULT_SKIP and nn.Embedding in DEFAULT_SKIP


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: param_groups(nn.Linear(2, 2), -0.1),
            "Invalid value for argument `weight_decay`. Expected a number in [0, inf). Received: weight_decay=-0.1",
        ),
        (
            lambda: param_groups([nn.Parameter(torch.zeros(2, 2))], 0.1),
            "Invalid value for argument `model`. Expected an nn.Module. Received: model of type list",
        ),
        (
            lambda: param_groups(nn.ReLU(), 0.1),
            "Invalid value for argument `model`. Expected a module with trainable parameters."
            " Received: a ReLU with 0 trainable parameters",
        ),
        (
            lambda: decay_parameters(nn.Linear(2, 2), skip=("bias", 3)),
            "Invalid value for argument `skip`. Expected parameter names (str) and nn.Module subclasses."
            " Received: skip containing 3",
        ),
    ],
)
def test_bad_arguments_full_message(call, message):
    with pytest.raises(ValueError) as exc:
        call()
    assert str(exc.value) == message
