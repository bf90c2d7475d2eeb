"""reglab.retrofit.retrofit: the rules a study applies to a model reglab did not build."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import reglab.nn as RN
from reglab.retrofit import DropoutAfter, drop_path_modules, retrofit, set_drop_path_rate, set_dropout_rate


class ReadsRate(nn.Module):
    """Uses its dropout module's rate functionally, and keeps a float rate for attention."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.dropout = nn.Dropout(0.1)
        self.attention_dropout = 0.05
        self.config = SimpleNamespace(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.05,
                                      classifier_dropout=None, hidden_size=4)

    def forward(self, x):
        x = F.dropout(self.fc(x), self.dropout.p, self.training)
        return F.dropout(x, self.attention_dropout, self.training)


def test_dropout_sets_modules_rate_attributes_and_config():
    model = ReadsRate()
    _, notes = retrofit(model, dropout=0.3)
    assert model.dropout.p == 0.3 and model.attention_dropout == 0.3
    assert vars(model.config) == dict(hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.3,
                                      classifier_dropout=None, hidden_size=4)
    assert notes == ["dropout=0.3: set the rate of the model's 1 dropout module (dropout) from 0.1 to 0.3; also "
                     "the rate attribute model.attention_dropout; and config.hidden_dropout_prob, "
                     "config.attention_probs_dropout_prob."]
    # the forward reads the new rate: about 1 - 0.7 * 0.7 = 51% zeros in training
    model.train()
    torch.manual_seed(0)
    zeros = (model(torch.randn(2000, 4)) == 0).float().mean().item()
    assert zeros == pytest.approx(0.51, abs=0.02)


class Mixed(nn.Module):
    """A ReLU feeding a conv (no dropout there), a GELU and a Tanh feeding Linear layers; the GELU
    is registered after the layer it feeds, so only the traced order tells."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, 3, padding=1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv1d(2, 2, 3, padding=1)
        self.fc1 = nn.Linear(16, 8)
        self.act = nn.GELU()
        self.head = nn.Sequential(nn.Tanh(), nn.Linear(8, 3))

    def forward(self, x):
        x = self.conv2(self.relu(self.conv(x.unsqueeze(1))))
        return self.head(self.fc1(self.act(x.flatten(1))))


def test_dropout_inserted_after_activations_feeding_a_linear_layer():
    model = Mixed()
    probe = torch.randn(2, 8)
    _, notes = retrofit(model, dropout=0.2, probe=probe, name="my.mod:build")
    assert isinstance(model.act, DropoutAfter) and isinstance(model.head[0], DropoutAfter)
    assert isinstance(model.relu, nn.ReLU)
    assert notes == ["dropout=0.2: the model has no dropout module; inserted reglab.nn.Dropout(0.2) after the 2 "
                     "activations feeding a Linear layer: act, head.0."]
    model.eval()
    assert model(probe).shape == (2, 3)


def test_dropout_on_a_model_with_nowhere_to_put_it_names_the_model():
    with pytest.raises(ValueError) as exc:
        retrofit(nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2)), dropout=0.2, name="my.mod:build")
    assert str(exc.value) == (
        "Invalid value for argument `dropout`. Expected a model with dropout modules or activation modules feeding a "
        "Linear layer (none found in model 'my.mod:build'). Received: dropout=0.2"
    )


class TimmDropPath(nn.Module):
    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        self.drop_prob = drop_prob


class StochasticDepth(nn.Module):  # torchvision's name and attribute
    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        self.p = p
        self.mode = mode


def test_drop_path_linear_depth_rule_on_foreign_modules():
    model = nn.Sequential(TimmDropPath(0.3), nn.Linear(2, 2), StochasticDepth(0.3), RN.DropPath(0.3), TimmDropPath())
    model.config = SimpleNamespace(drop_path_rate=0.3)
    assert [(n, a) for n, _, a in drop_path_modules(model)] == [("0", "drop_prob"), ("2", "p"), ("3", "p"),
                                                                ("4", "drop_prob")]
    _, notes = retrofit(model, drop_path=0.15)
    assert [model[0].drop_prob, model[2].p, model[3].p, model[4].drop_prob] == pytest.approx([0.0, 0.05, 0.1, 0.15])
    assert model.config.drop_path_rate == 0.15
    assert notes == ["drop_path=0.15: set the model's 4 stochastic-depth modules with the linear depth rule: "
                     "0=0, 2=0.05, 3=0.1, 4=0.15."]
    assert set_drop_path_rate(nn.Linear(2, 2), 0.1) == []


def test_drop_path_without_residual_blocks_stops_naming_the_model():
    with pytest.raises(ValueError) as exc:
        retrofit(nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2)), drop_path=0.1, name="pkg.mod:build")
    assert str(exc.value) == (
        "Invalid value for argument `drop_path`. Expected a model with residual blocks holding "
        "DropPath/StochasticDepth modules (no residual blocks found in model 'pkg.mod:build'). Received: drop_path=0.1"
    )


def test_rates_zero_leave_the_model_as_built_and_say_so():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.25), TimmDropPath(0.1), nn.Dropout(0.5), TimmDropPath(0.0))
    _, notes = retrofit(model)
    assert [model[1].p, model[3].p, model[2].drop_prob] == [0.25, 0.5, 0.1]
    assert notes == [
        "dropout not set by this arm: the model's own 2 dropout modules (1, 3) keep their rates (0.25/0.5).",
        "drop_path not set by this arm: the model's own 2 stochastic-depth modules keep their rates (0.1/0).",
    ]
    assert retrofit(nn.Linear(2, 2)) [1] == []


def test_set_dropout_rate_leaves_reglab_models_float_records_alone():
    from reglab.models import build

    model = build("mlp", (4,), 2, dropout=0.2)
    assert set_dropout_rate(model, 0.4) == 2  # its two Dropout modules; MLP.dropout records the option
    assert model.dropout == 0.2
