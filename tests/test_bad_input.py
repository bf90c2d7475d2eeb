"""Bad input, table-driven: every row is one call and the whole message it must give (issue 12).

``API_ROWS``: public functions and classes; each call raises ``ValueError`` (or a ``ReglabError``)
with exactly the message. ``CLI_ROWS``: ``reglab`` invocations through typer's CliRunner; each
exits with code 2 and prints exactly one red line, ``Error: <message>``, and no traceback.
Rows are added whenever a message is fixed; a row is never loosened to pass.
"""

from __future__ import annotations

import math
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import reglab.functional as F
import reglab.losses as L
import reglab.nn as N
from reglab.cli import app
from reglab.data import available
from reglab.errors import ReglabError
from reglab.penalties import l2_penalty
from reglab.training import Trainer
from reglab.uncertainty import mc_predict, predictive_entropy

LONG = torch.ones(4, 3, dtype=torch.long)
DATASETS = ", ".join(repr(row[0] if isinstance(row, (tuple, list)) else getattr(row, "name", row)) for row in available())


def _int_input(name: str) -> str:
    return f"Invalid value for argument `{name}`. Expected a floating-point tensor. Received: {name}.dtype=torch.int64"


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(8, 3))


def _batches(x_dim: int = 4, labels: tuple[int, int] = (0, 3)) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, x_dim, generator=g)
    y = torch.randint(labels[0], labels[1], (8,), generator=g)
    return [(x[:4], y[:4]), (x[4:], y[4:])]


def _fit(loader, *, model=None, optimizer=None, **kwargs):
    model = model or _net()
    optimizer = optimizer or torch.optim.SGD(model.parameters(), lr=0.1)
    return Trainer(model, optimizer, train_loader=loader, epochs=1, **kwargs).fit()


def _resume_past_limit(tmp: Path):
    model = _net()
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), train_loader=_batches(), epochs=3)
    trainer.fit()
    trainer.save_checkpoint(tmp / "ckpt.pt")
    model = _net()
    again = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), train_loader=_batches(), epochs=2)
    return again.fit(resume_from=tmp / "ckpt.pt")


API_ROWS: list[tuple[str, Callable[[Path], object], str]] = [
    ("dropout, integer tensor", lambda _: F.dropout(LONG, 0.5, training=True), _int_input("input")),
    ("nn.Dropout, integer tensor", lambda _: N.Dropout(0.5)(LONG), _int_input("input")),
    ("gaussian_noise, integer tensor", lambda _: F.gaussian_noise(LONG, 0.1, training=True), _int_input("input")),
    ("l2_penalty, integer tensor", lambda _: l2_penalty([LONG]),
     "Invalid value for argument `params`. Expected floating-point tensors. Received: params item 0 of dtype torch.int64"),
    ("predictive_entropy, integer tensor", lambda _: predictive_entropy(LONG), _int_input("probs")),
    ("dropout, a list", lambda _: F.dropout([1.0, 2.0], 0.5, training=True),
     "Invalid value for argument `input`. Expected a torch.Tensor. Received: input of type list"),
    ("gaussian_noise, a list", lambda _: F.gaussian_noise([1.0, 2.0], 0.1, training=True),
     "Invalid value for argument `input`. Expected a torch.Tensor. Received: input of type list"),
    ("drop_connect_linear, weight of other in_features",
     lambda _: F.drop_connect_linear(torch.randn(2, 3), torch.randn(4, 5), torch.randn(4), 0.5, training=True),
     "Invalid value for argument `weight`. Expected a 2-D tensor (out_features, 3) matching the input's last "
     "dimension. Received: weight.shape=(4, 5)"),
    ("drop_connect_linear, bias of other out_features",
     lambda _: F.drop_connect_linear(torch.randn(2, 3), torch.randn(4, 3), torch.randn(5), 0.5, training=True),
     "Invalid value for argument `bias`. Expected None or a tensor of shape (4,) (the weight's out_features). "
     "Received: bias.shape=(5,)"),
    ("label smoothing CE, target too large",
     lambda _: L.label_smoothing_cross_entropy(torch.randn(2, 3), torch.tensor([0, 3]), 0.1),
     "Invalid value for argument `target`. Expected class indices in [0, 2] (or ignore_index=-100). Received: "
     "target holds 3"),
    ("label smoothing CE, negative target",
     lambda _: L.LabelSmoothingCrossEntropy(0.1)(torch.randn(2, 3), torch.tensor([0, -1])),
     "Invalid value for argument `target`. Expected class indices in [0, 2] (or ignore_index=-100). Received: "
     "target holds -1"),
    ("label smoothing CE, empty batch",
     lambda _: L.label_smoothing_cross_entropy(torch.randn(0, 3), torch.zeros(0, dtype=torch.long), 0.1),
     "Invalid value for argument `target`. Expected at least one target (the mean of no losses is NaN). "
     "Received: target.shape=(0,)"),
    ("label smoothing CE, ignore_index with probability targets",
     lambda _: L.label_smoothing_cross_entropy(torch.randn(2, 3), torch.full((2, 3), 1 / 3), 0.1, ignore_index=0),
     "Invalid value for argument `ignore_index`. Expected -100 (the default) with probability targets: it "
     "applies to class indices only. Received: ignore_index=0"),
    ("soft-target CE, negative entries",
     lambda _: L.soft_target_cross_entropy(torch.randn(2, 3), torch.tensor([[1.5, -0.5, 0.0], [1.0, 0.0, 0.0]])),
     "Invalid value for argument `soft_target`. Expected non-negative entries (probabilities). Received: "
     "soft_target.min()=-0.5"),
    ("drop_block_gamma, block larger than the map", lambda _: F.drop_block_gamma(0.1, 6, 5, 5),
     "Invalid value for argument `block_size`. Expected an integer in [1, 5] (the feature map is 5x5). "
     "Received: block_size=6"),
    ("drop_path, 1-D input", lambda _: F.drop_path(torch.randn(5), 0.5, training=True),
     "Invalid value for argument `input`. Expected a tensor with at least 2 dimensions (batch first). "
     "Received: input.ndim=1 (shape (5,))"),
    ("Trainer, device cuda without a GPU",
     lambda _: Trainer(_net(), torch.optim.SGD(_net().parameters(), lr=0.1), train_loader=[], device="cuda")
     if not torch.cuda.is_available() else pytest.skip("a CUDA GPU is available"),
     "Invalid value for argument `device`. Expected a device this machine has (torch.cuda.is_available() is "
     "False). Received: device='cuda'"),
    ("Trainer, optimizer of another model",
     lambda _: Trainer(_net(), torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1), train_loader=[]),
     "Invalid value for argument `optimizer`. Expected an optimizer over the model's parameters. Received: an "
     "optimizer over 2 tensors, none of them the model's"),
    ("Trainer, wrong feature dimension", lambda _: _fit(_batches(x_dim=7)),
     "Invalid value for argument `train_loader`. Expected inputs the model accepts. Received: a batch of input "
     "shape (4, 7): mat1 and mat2 shapes cannot be multiplied (4x7 and 4x8)"),
    ("Trainer, labels out of range", lambda _: _fit(_batches(labels=(5, 9))),
     "Invalid value for argument `train_loader`. Expected targets the loss accepts. Received: a batch of target "
     "shape (4,) for output shape (4, 3): Target 8 is out of bounds."),
    ("Trainer, batches that are not (x, y)", lambda _: _fit([(torch.randn(4, 4), torch.zeros(4), 1)]),
     "Invalid value for argument `train_loader`. Expected (input, target) batches. Received: a tuple of 3 items"),
    ("Trainer, resuming past the epoch limit", _resume_past_limit,
     "Invalid value for argument `resume_from`. Expected a checkpoint of epoch <= epochs=2. Received: a "
     "checkpoint of epoch 3"),
    ("mc_predict, wrong feature dimension", lambda _: mc_predict(_net(), torch.randn(5, 7), samples=3),
     "Invalid value for argument `inputs`. Expected inputs the model accepts. Received: a batch of shape (5, 7): "
     "mat1 and mat2 shapes cannot be multiplied (5x7 and 4x8)"),
    ("from_arrays, labels out of range of class_names",
     lambda _: __import__("reglab.data", fromlist=["x"]).from_arrays(
         torch.zeros(6, 2), torch.tensor([0, 1, 2, 0, 1, 2]), class_names=["a", "b"]),
     "Invalid value for argument `y_train`. Expected integer class labels in [0, 1] (2 class names). Received: "
     "y_train holds labels from 0 to 2"),
    ("sample_beta, infinite alpha", lambda _: __import__("reglab.augment", fromlist=["x"]).sample_beta(math.inf, 1.0),
     "Invalid value for argument `alpha`. Expected a number in (0, inf). Received: alpha=inf"),
]


@pytest.mark.parametrize(("call", "message"), [row[1:] for row in API_ROWS], ids=[row[0] for row in API_ROWS])
def test_api_bad_input(call, message, tmp_path):
    with pytest.raises((ValueError, ReglabError)) as exc:
        call(tmp_path)
    assert str(exc.value) == message


# ----------------------------------------------------------------------------- CLI

def _store_with_list_final(tmp: Path) -> list[str]:
    from reglab.experiments.execute import RunResult
    from reglab.experiments.spec import RunSpec
    from reglab.experiments.store import RunStore
    from reglab.training.history import History

    path = tmp / "runs.sqlite"
    history = History(epoch=[1], train_loss=[1.0], train_acc=[0.5], val_loss=[1.0], val_acc=[0.5],
                      lr=[0.1], grad_norm_mean=[1.0], grad_norm_max=[1.0], seconds=[0.1]).to_dict()
    with RunStore(path) as store:
        store.add_result("s", RunResult(RunSpec(), history, {"test_acc": 0.5}, 1.0))
    conn = sqlite3.connect(path)
    conn.execute("UPDATE runs SET final = '[1, 2]'")
    conn.commit()
    conn.close()
    return ["report", "--store", str(path)]


def _busy_port(_: Path) -> list[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    _busy_port.sock = sock  # type: ignore[attr-defined]  # kept open until the row is checked
    return ["lab", "--port", str(sock.getsockname()[1])]


def _toml(text: str, *flags: str) -> Callable[[Path], list[str]]:
    def args(tmp: Path) -> list[str]:
        (tmp / "c.toml").write_text(text)
        return ["study", "--config", str(tmp / "c.toml"), *flags, "--print-config"]
    return args


def _user_data(kind: str) -> Callable[[Path], list[str]]:
    """A ``reglab study`` of a user's data file written into ``tmp`` (issue 13's bad data); the
    study's --out is ``tmp/out``, which must hold no store afterwards."""
    def args(tmp: Path) -> list[str]:
        import numpy as np

        rng = np.random.default_rng(0)
        x, y = rng.normal(size=(30, 4)).astype(np.float32), np.arange(30) % 3
        extra: list[str] = []
        if kind == "csv":
            (tmp / "d.csv").write_text("a,b\n1,2\n3,4\n")
            path, extra = tmp / "d.csv", ["--target", "y"]
        elif kind == "regression mixup":
            (tmp / "d.csv").write_text("a,y\n" + "".join(f"{v:.3f},{2 * v + 0.5:.3f}\n" for v in x[:, 0]))
            path, extra = tmp / "d.csv", ["--target", "y", "--arms", "baseline,mixup"]
        elif kind in ("one class", "unreadable"):
            from PIL import Image

            for c in ("only",) if kind == "one class" else ("a", "b"):
                (tmp / "imgs" / c).mkdir(parents=True)
                for i in range(3):
                    Image.fromarray((rng.random((6, 6, 3)) * 255).astype("uint8")).save(tmp / "imgs" / c / f"{i}.png")
            if kind == "unreadable":
                (tmp / "imgs" / "b" / "bad.png").write_bytes(b"not a png")
            path = tmp / "imgs"
        else:
            arrays = {"lengths": {"x_train": x, "y_train": y[:20]},
                      "nan": {"x_train": np.where(np.arange(4) == 1, np.nan, x).astype(np.float32), "y_train": y},
                      "inf": {"x_train": np.where(np.arange(30)[:, None] == 5, np.inf, x).astype(np.float32),
                              "y_train": y},
                      "non-integer": {"x_train": x, "y_train": y + 0.5},
                      "unseen": {"x_train": x, "y_train": y, "x_test": x[:6], "y_test": y[:6] + 5}}[kind]
            np.savez(tmp / "d.npz", **arrays)
            path = tmp / "d.npz"
            extra = ["--task", "classification"] if kind == "non-integer" else []
        arms = [] if "--arms" in extra else ["--arms", "baseline"]
        return ["study", "--data", str(path), *extra, *arms, "--epochs", "1", "--seeds", "1", "--out", str(tmp / "out")]
    return args


CLI_ROWS: list[tuple[str, Callable[[Path], list[str]], Callable[[Path], str]]] = [
    ("npz, arrays of different lengths", _user_data("lengths"),
     lambda tmp: "Invalid value for argument `y_train`. Expected one label per row of x_train (30 rows). Received: "
                 "len(y_train)=20"),
    ("npz, NaN features", _user_data("nan"),
     lambda tmp: "Invalid value for argument `x_train`. Expected finite feature values (no NaN or inf). Received: "
                 "x_train holds 30 NaN and 0 inf values, the first in row 0"),
    ("npz, inf features", _user_data("inf"),
     lambda tmp: "Invalid value for argument `x_train`. Expected finite feature values (no NaN or inf). Received: "
                 "x_train holds 0 NaN and 4 inf values, the first in row 5"),
    ("npz, non-integer labels for classification", _user_data("non-integer"),
     lambda tmp: "Invalid value for argument `y_train`. Expected integer class labels for task='classification'. "
                 "Received: y_train holds non-integer values such as 0.5"),
    ("npz, test labels out of the training classes", _user_data("unseen"),
     lambda tmp: "Invalid value for argument `y_test`. Expected labels that occur in y_train (the classes the model "
                 "learns). Received: y_test holds 3 labels y_train lacks: 5, 6, 7"),
    ("a mixup arm on a regression CSV", _user_data("regression mixup"),
     lambda tmp: "Run 'mixup' sets regularization.mixup_alpha on a regression dataset. Expected mixup_alpha unset: "
                 "it acts on class labels or logits. Received: regularization.mixup_alpha=0.2"),
    ("CSV without the target column", _user_data("csv"),
     lambda tmp: "Invalid value for argument `target`. Expected a column of d.csv: 'a', 'b'. Received: target='y'"),
    ("image folder with one class", _user_data("one class"),
     lambda tmp: "Invalid value for argument `data`. Expected an image folder with one sub-folder per class, at "
                 f"least 2. Received: {tmp / 'imgs'} has 1 class sub-folder ('only')"),
    ("image folder with an unreadable image", _user_data("unreadable"),
     lambda tmp: "Invalid value for argument `data`. Expected image files Pillow can read. Received: "
                 f"{tmp / 'imgs' / 'b' / 'bad.png'} (not an image format Pillow recognises)"),
    ("a 300-character --name", lambda tmp: ["study", "--name", "a" * 300, "--out", str(tmp), "--print-config"],
     lambda tmp: "Invalid value for argument `name`. Expected at most 100 characters (it names a directory). "
                 "Received: a name of 300 characters"),
    ("a store whose final column holds a list", _store_with_list_final,
     lambda tmp: f"The run store {str(tmp / 'runs.sqlite')!r} holds a run that cannot be read (its final metrics "
                 "are a list, not a table). Expected runs written by reglab."),
    ("uncertainty, unknown dataset", lambda tmp: ["uncertainty", "--dataset", "nope", "--out", str(tmp)],
     lambda tmp: f"Invalid value for argument `--dataset`. Expected one of {DATASETS}. Received: --dataset='nope'"),
    ("distill, unknown dataset", lambda tmp: ["distill", "--dataset", "nope", "--out", str(tmp)],
     lambda tmp: f"Invalid value for argument `--dataset`. Expected one of {DATASETS}. Received: --dataset='nope'"),
    ("lab, port in use", _busy_port,
     lambda tmp: f"Invalid value for argument `--port`. Expected a port free on 127.0.0.1. Received: "
                 f"--port={_busy_port.sock.getsockname()[1]}"),  # type: ignore[attr-defined]
    ("lab, unresolvable host", lambda tmp: ["lab", "--host", "no-such-host.invalid", "--port", "0"],
     lambda tmp: "Invalid value for argument `--host`. Expected a host name or address this machine resolves. "
                 "Received: --host='no-such-host.invalid'"),
    ("TOML epochs of the wrong type, also given as a flag", _toml('epochs = "ten"\n', "--epochs", "3"),
     lambda tmp: "Invalid value for argument `epochs`. Expected an integer >= 1. Received: epochs='ten'"),
    ("TOML data of the wrong type, also given as a flag", _toml("data = 5\n", "--dataset", "digits"),
     lambda tmp: "Invalid value for argument `data`. Expected a table of DataSpec fields. Received: data=5"),
    ("--set max_norm=inf", lambda tmp: ["study", "--set", "max_norm=inf", "--print-config"],
     lambda tmp: "Invalid value for argument `regularization.max_norm`. Expected a number in (0, inf) (or none). "
                 "Received: regularization.max_norm=inf"),
    ("sweep grid with inf", lambda tmp: ["sweep", "--grid", "mixup_alpha=0.2,inf", "--out", str(tmp)],
     lambda tmp: "Invalid value for argument `regularization.mixup_alpha`. Expected a number in [0, inf). "
                 "Received: regularization.mixup_alpha=inf"),
    ("a batch size of 10^20", lambda tmp: ["study", "--batch-size", str(10**20), "--print-config"],
     lambda tmp: "Invalid value for argument `batch_size`. Expected an integer >= 1 and <= 2147483647. Received: "
                 "batch_size=100000000000000000000"),
    ("--epochs 1e9 without --yes", lambda tmp: ["study", "--epochs", "1000000000", "--out", str(tmp)],
     lambda tmp: "Invalid value for argument `--yes`. Expected --yes to start a plan of more than 200,000 run-epochs "
                 "(runs x epochs). Received: 18 runs x 1,000,000,000 epochs = 18,000,000,000 run-epochs without --yes"),
    ("--seeds 100000", lambda tmp: ["study", "--seeds", "100000", "--out", str(tmp)],
     lambda tmp: "Invalid value for argument `plan`. Expected at most 100,000 runs (arms x seeds). Received: 600,000 "
                 "runs (6 arms x 100,000 seeds)"),
    ("uncertainty --samples 1e9 without --yes", lambda tmp: ["uncertainty", "--samples", "1000000000", "--out", str(tmp)],
     lambda tmp: "Invalid value for argument `--yes`. Expected --yes to run more than 10,000 MC dropout passes. "
                 "Received: --samples 1,000,000,000 without --yes"),
    ("model.width=1e6", lambda tmp: ["study", "--set", "model.width=1000000", "--seeds", "1", "--arms", "baseline",
                                     "--out", str(tmp)],
     lambda tmp: "Invalid value for argument `model.options`. Expected a model whose training fits in the "
                 "64.0 GiB of memory available. Received: model 'mlp' with 1,000,052,000,010 parameters needs "
                 "about 14.6 TiB (weights, gradients, optimizer state and one batch's activations)"),
]


@pytest.mark.parametrize(("args", "message"), [row[1:] for row in CLI_ROWS], ids=[row[0] for row in CLI_ROWS])
def test_cli_bad_input(args, message, tmp_path, monkeypatch):
    monkeypatch.setattr("reglab.experiments.bounds.available_memory", lambda: 64 * 2**30)  # a fixed machine
    result = CliRunner().invoke(app, args(tmp_path))
    try:
        assert result.exit_code == 2, result.output
        assert result.stderr == f"Error: {message(tmp_path)}\n"
        assert "Traceback" not in result.output
        assert not list((tmp_path / "out").glob("runs.sqlite*"))  # nothing half-written in a store
    finally:
        sock = getattr(_busy_port, "sock", None)
        if sock is not None:
            sock.close()
            del _busy_port.sock


def test_a_bug_inside_the_model_stays_itself():
    """Only a batch that does not fit is reported as bad input; any other error is a bug and propagates."""

    class Boom(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    model = torch.nn.Sequential(torch.nn.Linear(4, 3), Boom())
    with pytest.raises(RuntimeError, match="^boom$"):
        _fit(_batches(), model=model)
