"""reglab.models.user: import strings, registered factories, the logits rule, the probe check."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from reglab.errors import ConfigError
from reglab.models import build, register, registered, unregister
from reglab.models.user import LogitsOf, check_output, in_process_reason, load_factory, logits_of

FACTORIES = '''
import torch
from torch import nn

def build(input_shape, num_classes, *, width=8):
    return nn.Sequential(nn.Linear(input_shape[0], width), nn.ReLU(), nn.Linear(width, num_classes))

def no_args():
    return nn.Linear(3, 2)

def raises(input_shape, num_classes):
    raise RuntimeError("width must be even\\nsecond line")

def not_a_module(input_shape, num_classes):
    return "a string"

class Namespace:
    factory = staticmethod(no_args)

NOT_CALLABLE = 3
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module ``usermods_<n>`` written into a temporary current directory (as a user's file)."""
    name = f"usermods_{abs(hash(str(tmp_path))) % 10**8}"
    (tmp_path / f"{name}.py").write_text(FACTORIES)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # load_factory adds the cwd: undo after the test
    yield name
    sys.modules.pop(name, None)


@pytest.fixture
def clean_registry():
    before = registered()
    yield
    for name in set(registered()) - set(before):
        unregister(name)


def test_import_string_from_the_current_directory_with_options(user_module):
    torch.manual_seed(0)
    model = build(f"{user_module}:build", (5,), 3, width=4)
    assert [tuple(p.shape) for p in model.parameters()] == [(4, 5), (4,), (3, 4), (3,)]
    assert load_factory(f"{user_module}:Namespace.factory").__name__ == "no_args"


def test_seeded_build_is_reproducible_and_leaves_the_global_rng(user_module):
    state = torch.random.get_rng_state()
    a = build(f"{user_module}:build", (5,), 3, seed=7)
    b = build(f"{user_module}:build", (5,), 3, seed=7)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_zero_argument_factory_is_called_without_arguments(user_module):
    model = build(f"{user_module}:no_args", (99,), 7)
    assert isinstance(model, nn.Linear) and (model.in_features, model.out_features) == (3, 2)


IMPORT = "an import string 'package.module:factory'"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("nosuchpkg.models:build", f"{IMPORT} whose module can be imported (no module named 'nosuchpkg')"),
        ("{m}:missing", f"{IMPORT} naming an attribute of the module (module '{{m}}' has no attribute 'missing')"),
        ("{m}:NOT_CALLABLE", f"{IMPORT} naming a callable (got int)"),
        ("{m}:", IMPORT),
        ("{m}:raises", "a factory that builds the model (calling it raised RuntimeError: width must be even)"),
        ("{m}:not_a_module", "a factory returning a torch.nn.Module (it returned str)"),
    ],
)
def test_bad_import_strings_and_factories(user_module, target, expected):
    target, expected = target.format(m=user_module), expected.format(m=user_module)
    with pytest.raises(ConfigError) as exc:
        build(target, (5,), 3)
    assert str(exc.value) == f"Invalid value for argument `model`. Expected {expected}. Received: model={target!r}"


def test_an_unregistered_name_says_where_names_come_from():
    with pytest.raises(ConfigError) as exc:
        load_factory("registered_elsewhere")
    assert str(exc.value) == (
        "Invalid value for argument `model`. Expected a name registered with reglab.models.register in this process "
        "or an import string 'package.module:factory'. Received: model='registered_elsewhere'"
    )


def test_options_for_a_zero_argument_factory_are_refused(user_module):
    with pytest.raises(ConfigError) as exc:
        build(f"{user_module}:no_args", (5,), 3, width=4)
    assert str(exc.value) == (
        f"Invalid value for argument `model.options`. Expected no options for '{user_module}:no_args' (its "
        "factory takes no argument). Received: model.options={'width': 4}"
    )


def tiny_factory(input_shape, num_classes):
    return nn.Linear(input_shape[0], num_classes)


def test_a_factory_passed_directly():
    model = build(tiny_factory, (6,), 2)
    assert (model.in_features, model.out_features) == (6, 2)
    with pytest.raises(ConfigError) as exc:
        build(lambda: 3, (6,), 2)
    assert str(exc.value) == ("Invalid value for argument `model`. Expected a factory returning a torch.nn.Module "
                              "(it returned int). Received: model='test_a_factory_passed_directly.<locals>.<lambda>'")


def test_register_builds_by_name_and_refuses_builtin_names(clean_registry):
    assert register("tiny_user", tiny_factory) == "tiny_user"
    model = build("tiny_user", (6,), 2)
    assert (model.in_features, model.out_features) == (6, 2)
    for bad in ("mlp", "a:b", ""):
        with pytest.raises(ValueError) as exc:
            register(bad, tiny_factory)
        assert str(exc.value) == (
            "Invalid value for argument `name`. Expected a non-empty name without ':' that is not a built-in "
            f"model's. Received: name={bad!r}"
        )
    with pytest.raises(TypeError) as exc:
        register("x", 3)
    assert str(exc.value) == "Invalid value for argument `factory`. Expected a callable returning an nn.Module. Received: factory=3"


def test_in_process_reason_for_lambdas_only(clean_registry):
    register("sendable", tiny_factory)
    assert in_process_reason(["sendable", "mlp"]) is None
    register("closure", lambda shape, n: nn.Linear(shape[0], n))
    assert in_process_reason(["mlp", "closure"]) == (
        "the registered model factory 'closure' cannot be sent to worker processes (a lambda, a closure or a "
        "function of __main__): its runs train in this process, one after another"
    )


@dataclass
class FakeModelOutput:  # what a Hugging Face ModelOutput offers: attributes
    loss: torch.Tensor | None
    logits: torch.Tensor


def test_logits_rule():
    t, u = torch.ones(2, 3), torch.zeros(2, 3)
    assert logits_of(t) is t
    assert logits_of((t, u)) is t
    assert logits_of([t]) is t
    assert logits_of({"hidden": u, "logits": t}) is t
    assert logits_of({"scores": t, "n": 3}) is t
    assert logits_of(FakeModelOutput(None, t)) is t
    assert logits_of({"hidden": u, "scores": t}, "scores") is t
    assert logits_of(FakeModelOutput(u, t), "loss") is u


@pytest.mark.parametrize(
    ("out", "key", "message"),
    [
        ({"a": torch.ones(1), "b": torch.ones(1)}, None,
         "Expected a dict output with a 'logits' entry or exactly one tensor (or name the entry: --model-output "
         "KEY). Received: an output with keys ['a', 'b']"),
        ("text", None, "Expected a tensor, a tuple whose first element is a tensor, a dict or an object with "
         "'logits'. Received: an output of type str"),
        ({"a": torch.ones(1)}, "b", "Expected the name of a tensor entry of the model's output (it has ['a']). "
         "Received: model.output='b'"),
    ],
)
def test_logits_rule_errors(out, key, message):
    with pytest.raises(ValueError) as exc:
        logits_of(out, key)
    assert str(exc.value) == f"Invalid value for argument `model.output`. {message}"


class DictNet(nn.Module):
    def __init__(self, n_out: int) -> None:
        super().__init__()
        self.fc = nn.Linear(4, n_out)

    def forward(self, x):
        return {"features": x, "logits": self.fc(x)}


def test_check_output_wraps_a_dict_model_once_and_keeps_the_rng():
    model = DictNet(3)
    probe = torch.randn(2, 4)
    state = torch.random.get_rng_state()
    wrapped = check_output(model, probe, 3, "classification", "m:f")
    assert torch.equal(torch.random.get_rng_state(), state)
    assert isinstance(wrapped, LogitsOf) and wrapped.model is model
    assert torch.equal(wrapped(probe), model.fc(probe))
    plain = nn.Linear(4, 3)
    assert check_output(plain, probe, 3, "classification", "m:f") is plain
    assert check_output(nn.Linear(4, 1), probe, 1, "regression", "m:f") is not None


def test_check_output_names_a_shape_mismatch_and_a_failing_forward():
    with pytest.raises(ConfigError) as exc:
        check_output(DictNet(5), torch.randn(2, 4), 3, "classification", "pkg.mod:build")
    assert str(exc.value) == (
        "Invalid value for argument `model`. Expected a model whose output has shape (batch, 3) for the data's 3 "
        "classes. Received: model='pkg.mod:build' with output shape (2, 5) for a batch of 2"
    )
    with pytest.raises(ConfigError) as exc:
        check_output(nn.Linear(7, 3), torch.randn(2, 4), 3, "classification", "pkg.mod:build")
    assert str(exc.value) == (
        "Invalid value for argument `model`. Expected a model that runs on the data's inputs of shape (4,) (its "
        "forward raised RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x4 and 7x3)). Received: "
        "model='pkg.mod:build'"
    )


def test_named_output_key_wraps_at_build(clean_registry):
    register("dictnet", lambda shape, n: DictNet(n))
    model = build("dictnet", (4,), 3, output="features")
    x = torch.randn(2, 4)
    assert isinstance(model, LogitsOf) and torch.equal(model(x), x)


REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


def test_the_examples_model_and_data(monkeypatch):
    import numpy as np

    from reglab.retrofit import retrofit

    monkeypatch.chdir(REPO)  # the README runs the command from the repository root
    monkeypatch.setattr(sys, "path", list(sys.path))
    model = build("examples.your_model:build", (40,), 10, seed=0)
    _, notes = retrofit(model, dropout=0.3, drop_path=0.2, name="examples.your_model:build")
    assert notes == [
        "dropout=0.3: set the rate of the model's 1 dropout module (dropout) from 0.1 to 0.3.",
        "drop_path=0.2: set the model's 2 stochastic-depth modules with the linear depth rule: "
        "blocks.0.drop_path=0, blocks.1.drop_path=0.2.",
    ]
    model.eval()
    assert model(torch.randn(3, 40)).shape == (3, 10)
    data = np.load(REPO / "examples" / "your_data.npz")
    assert {k: (data[k].shape, data[k].dtype.name) for k in data.files} == {
        "x_train": ((2000, 40), "float32"), "y_train": ((2000,), "int64"),
        "x_test": ((1000, 40), "float32"), "y_test": ((1000,), "int64")}
    assert sorted(np.unique(data["y_train"]).tolist()) == list(range(10))
    assert (REPO / "examples" / "your_data.npz").stat().st_size < 1_000_000
