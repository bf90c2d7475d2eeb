"""reglab.models: parameter counts, forward shapes, dropout only in training, registry errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reglab.functional import drop_path_rates
from reglab.models import available, build, count_parameters
from reglab.nn import DropPath, LockedDropout, SpatialDropout, is_stochastic

# Every model on the input shapes of the datasets its defaults fit.
SHAPES = {
    "mlp": [(40,), (1, 8, 8), (30,), (13,), (2,), (1, 28, 28)],
    "cnn1d": [(40,)],
    "cnn2d": [(1, 8, 8), (1, 28, 28), (3, 32, 32)],
    "resnet": [(1, 8, 8), (1, 28, 28), (3, 32, 32)],
    "transformer": [(40,), (1, 8, 8), (1, 28, 28), (3, 32, 32), (13,)],
    "lstm": [(40,), (1, 8, 8), (1, 28, 28)],
    "autoencoder": [(40,), (30,), (1, 8, 8)],
    "linear_head": [(64,), (512,)],
}
CASES = [(name, shape) for name, shapes in SHAPES.items() for shape in shapes]

# The options that switch on every stochastic regularizer of each model.
REGULARIZED = {
    "mlp": {"dropout": 0.3, "input_dropout": 0.2},
    "cnn1d": {"dropout": 0.3, "spatial_dropout": 0.2},
    "cnn2d": {"dropout": 0.3, "spatial_dropout": 0.2},
    "resnet": {"dropout": 0.3, "drop_path": 0.3},
    "transformer": {"dropout": 0.3, "attention_dropout": 0.2, "drop_path": 0.3},
    "lstm": {"dropout": 0.3},
    "autoencoder": {"dropout": 0.3},
    "linear_head": {"dropout": 0.3},
}


def test_available_models() -> None:
    assert available() == ["mlp", "cnn1d", "cnn2d", "resnet", "transformer", "lstm", "autoencoder", "linear_head"]
    assert set(SHAPES) == set(available()) == set(REGULARIZED)


def test_the_mnist1d_authors_models_have_their_parameter_counts() -> None:
    assert count_parameters(build("mlp", (40,), 10)) == 15_210  # 40-100-100-10
    assert count_parameters(build("cnn1d", (40,), 10)) == 5_210  # 3 x conv(25) + 125 -> 10
    assert count_parameters(build("mlp", (40,), 10, depth=0)) == 410  # logistic regression


def test_other_default_parameter_counts() -> None:
    # cnn2d on digits: conv 1->32 (320) + conv 32->64 (18,496) + 256->128 (32,896) + 128->10 (1,290)
    assert count_parameters(build("cnn2d", (1, 8, 8), 10)) == 53_002
    assert count_parameters(build("linear_head", (64,), 10)) == 650
    # autoencoder on MNIST-1D: 40-64-8-64-40
    assert count_parameters(build("autoencoder", (40,), 0)) == (40 * 64 + 64) + (64 * 8 + 8) + (8 * 64 + 64) + (64 * 40 + 40)
    assert count_parameters(build("resnet", (3, 32, 32), 10)) == 175_258
    assert count_parameters(build("transformer", (40,), 10)) == 70_410


def test_count_parameters_trainable_only() -> None:
    model = build("mlp", (40,), 10)
    model.net[1].requires_grad_(False)  # freeze the first linear layer: 40 * 100 + 100
    assert count_parameters(model, trainable_only=True) == 15_210 - 4_100


@pytest.mark.parametrize(("name", "shape"), CASES)
def test_forward_shapes(name: str, shape: tuple[int, ...]) -> None:
    model = build(name, shape, 7, seed=0, **REGULARIZED[name])
    x = torch.randn(3, *shape)
    out = model(x)
    assert out.shape == (x.shape if name == "autoencoder" else (3, 7))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(("name", "shape"), [(n, s[0]) for n, s in SHAPES.items()])
def test_dropout_zero_adds_no_stochastic_module(name: str, shape: tuple[int, ...]) -> None:
    base = build(name, shape, 5)
    assert not any(is_stochastic(m) for m in base.modules())
    regularized = build(name, shape, 5, **REGULARIZED[name])
    assert any(is_stochastic(m) for m in regularized.modules())


@pytest.mark.parametrize(("name", "shape"), CASES)
def test_regularizers_are_inactive_in_eval(name: str, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    x = torch.randn(6, *shape)
    model = build(name, shape, 5, seed=1, **REGULARIZED[name])
    baseline = build(name, shape, 5, seed=1)  # same weights: regularizers hold no parameters
    model.eval()
    baseline.eval()
    with torch.no_grad():
        out = model(x)
        assert torch.equal(out, model(x))
        assert torch.allclose(out, baseline(x), atol=1e-6)
        model.train()
        a, b = model(x), model(x)
    assert not torch.allclose(a, b)  # ...and active in training


def test_build_seed_is_reproducible_and_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a = build("mlp", (40,), 10, seed=7)
    assert torch.equal(torch.rand(1), expected)
    b = build("mlp", (40,), 10, seed=7)
    c = build("mlp", (40,), 10, seed=8)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.net[1].weight, c.net[1].weight)


def test_resnet_drop_path_follows_the_linear_depth_rule() -> None:
    model = build("resnet", (3, 32, 32), 10, drop_path=0.25, blocks=2)
    rates = [m.p for m in model.modules() if isinstance(m, DropPath)]
    assert rates == drop_path_rates(0.25, 6, "linear")
    assert rates[0] == 0.0 and rates[-1] == 0.25 and rates[1] == pytest.approx(0.05)


def test_transformer_drop_path_and_attention_dropout_placement() -> None:
    model = build("transformer", (40,), 10, depth=3, drop_path=0.2, attention_dropout=0.1)
    assert [m.p for m in model.modules() if isinstance(m, DropPath)] == [0.0, 0.1, 0.2]
    attn = [m.attn.attn_drop for m in model.blocks]
    assert all(len(a) == 1 and a[0].p == 0.1 for a in attn)
    assert sum(isinstance(m, nn.LayerNorm) for m in model.modules()) == 3 * 2 + 1


def test_cnn_spatial_dropout_and_lstm_locked_dropout_counts() -> None:
    cnn = build("cnn2d", (1, 8, 8), 10, spatial_dropout=0.1, channels=(8, 16, 32))
    assert sum(isinstance(m, SpatialDropout) for m in cnn.modules()) == 3
    lstm = build("lstm", (40,), 10, dropout=0.25, layers=3)
    locked = [m for m in lstm.modules() if isinstance(m, LockedDropout)]
    assert len(locked) == 3 and all(m.p == 0.25 for m in locked)


def test_lstm_locked_dropout_uses_one_mask_per_sequence() -> None:
    model = build("lstm", (12,), 3, dropout=0.5, layers=1, hidden=16, seed=0)
    seen = {}
    model.drops[0].register_forward_hook(lambda mod, inp, out: seen.update(inp=inp[0], out=out))
    model.train()
    model(torch.randn(4, 12))
    zero = seen["out"] == 0
    dropped = zero & (seen["inp"] != 0)
    assert dropped.any()
    assert torch.equal(dropped.any(dim=1), dropped.all(dim=1))  # same features at every step


def test_bidirectional_gru_and_image_rows_as_steps() -> None:
    model = build("lstm", (1, 8, 8), 4, cell="gru", bidirectional=True, hidden=5)
    assert isinstance(model.rnns[0], nn.GRU) and model.head.in_features == 10
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 4)
    assert model.sequence(torch.zeros(2, 3, 8, 5)).shape == (2, 8, 15)


def test_autoencoder_reconstruction_error_is_per_sample_mse() -> None:
    model = build("autoencoder", (1, 8, 8), 0, seed=0).eval()
    x = torch.randn(5, 1, 8, 8)
    expected = ((model(x) - x) ** 2).mean(dim=(1, 2, 3))
    assert torch.allclose(model.reconstruction_error(x), expected)
    assert model.encode(x).shape == (5, 8)


def test_transformer_image_tokens_are_patches() -> None:
    model = build("transformer", (3, 32, 32), 10)
    assert model._patch == 8  # 16 tokens
    x = torch.arange(2 * 3 * 32 * 32, dtype=torch.float32).reshape(2, 3, 32, 32)
    tokens = model.tokens(x)
    assert tokens.shape == (2, 16, 192)
    assert torch.equal(tokens[1, 5], x[1, :, 8:16, 8:16].reshape(-1))  # row 1, column 1


def test_get_config_round_trips() -> None:
    for name, opts in REGULARIZED.items():
        shape = SHAPES[name][0]
        model = build(name, shape, 4, **opts)
        clone = type(model).from_config(model.get_config())
        assert clone.get_config() == model.get_config()
        assert count_parameters(clone) == count_parameters(model)


def test_mlp_options_norm_and_activation() -> None:
    model = build("mlp", (2,), 2, norm="layer", activation="tanh", width=8, depth=3)
    assert sum(isinstance(m, nn.LayerNorm) for m in model.modules()) == 3
    assert sum(isinstance(m, nn.Tanh) for m in model.modules()) == 3


KNOWN_MODELS = "'mlp', 'cnn1d', 'cnn2d', 'resnet', 'transformer', 'lstm', 'autoencoder', 'linear_head'"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: build("vgg", (3, 32, 32), 10),
         f"Invalid value for argument `name`. Expected one of {KNOWN_MODELS}, a registered model or an import "
         "string 'package.module:factory'. Received: name='vgg'"),
        (lambda: build("mlp", (40,), 10, widht=5),
         "Invalid value for argument `widht`. Expected an option of model 'mlp': 'width', 'depth', "
         "'dropout', 'input_dropout', 'norm', 'activation'. Received: widht=5"),
        (lambda: build("resnet", (40,), 10),
         "Invalid value for argument `input_shape`. Expected (channels, height, width) for model "
         "'resnet'. Received: input_shape=(40,)"),
        (lambda: build("cnn1d", (1, 8, 8), 10),
         "Invalid value for argument `input_shape`. Expected (length,) or (channels, length) for "
         "model 'cnn1d'. Received: input_shape=(1, 8, 8)"),
        (lambda: build("mlp", (40, 0), 10),
         "Invalid value for argument `input_shape`. Expected a shape of 1 to 5 positive integers for "
         "model 'mlp'. Received: input_shape=(40, 0)"),
        (lambda: build("mlp", (40,), 0),
         "Invalid value for argument `num_classes`. Expected an integer >= 1. Received: num_classes=0"),
        (lambda: build("mlp", (40,), 10, dropout=1.0),
         "Invalid value for argument `dropout`. Expected a number in [0, 1). Received: dropout=1.0"),
        (lambda: build("resnet", (3, 32, 32), 10, drop_path=-0.1),
         "Invalid value for argument `drop_path`. Expected a number in [0, 1). Received: drop_path=-0.1"),
        (lambda: build("cnn2d", (1, 8, 8), 10, spatial_dropout=1.5),
         "Invalid value for argument `spatial_dropout`. Expected a number in [0, 1). Received: spatial_dropout=1.5"),
        (lambda: build("mlp", (40,), 10, norm="group"),
         "Invalid value for argument `norm`. Expected one of None, 'batch', 'layer'. Received: norm='group'"),
        (lambda: build("transformer", (40,), 10, dim=30, heads=4),
         "Invalid value for argument `dim`. Expected a multiple of heads=4. Received: dim=30"),
        (lambda: build("transformer", (1, 28, 28), 10, patch_size=5),
         "Invalid value for argument `patch_size`. Expected a divisor of both height 28 and width 28. Received: patch_size=5"),
        (lambda: build("cnn1d", (2,), 10),
         "Invalid value for argument `input_shape`. Expected a length that survives 3 stride-2 "
         "convolutions for model 'cnn1d'. Received: input_shape=(2,)"),
        (lambda: build("lstm", (40,), 10, cell="rnn"),
         "Invalid value for argument `cell`. Expected one of 'lstm', 'gru'. Received: cell='rnn'"),
        (lambda: build("mlp", (40,), 10, seed=-1),
         "Invalid value for argument `seed`. Expected an integer >= 0. Received: seed=-1"),
    ],
)
def test_bad_arguments(call, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        call()
    assert str(exc.value) == message


def test_mlp_learns_digits() -> None:
    from reglab.data import load

    s = load("digits", seed=0)
    model = build("mlp", s.info.input_shape, s.info.num_classes, seed=0, width=64)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    train, _, _ = s.loaders(128, seed=0)
    for _ in range(15):
        for xb, yb in train:
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(s.x_test).argmax(1) == s.y_test).float().mean().item()
    assert acc > 0.93  # digits is easy: MLPs reach ~97%
