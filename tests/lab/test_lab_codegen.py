""""Copy as code": the snippets compile, and the overfit one reproduces the lab's own numbers."""

from __future__ import annotations

import contextlib
import io

import pytest

from lab_helpers import run_job

from reglab.lab import codegen


@pytest.mark.parametrize("demo", sorted(codegen.PARAMS))
def test_default_snippets_compile(demo):
    compile(codegen.snippet(demo), f"<{demo}>", "exec")


def test_overfit_snippet_for_default_settings():
    assert codegen.snippet("overfit") == (
        "# reglab lab, overfitting in action: moons, 60 training samples, 10% label noise, MLP 128x3\n"
        "import torch\n\nimport reglab.data\nimport reglab.models\n"
        "from reglab.analysis import diagnose\nfrom reglab.training import Trainer\n\n"
        "torch.set_num_threads(1)\n"
        "splits = reglab.data.load('moons', seed=0, train_size=60, label_noise=0.1)\n"
        "torch.manual_seed(0)  # the initial weights\n"
        'model = reglab.models.build("mlp", splits.info.input_shape, splits.info.num_classes, width=128, depth=3)\n'
        "train_loader, val_loader, _ = splits.loaders(32, seed=0)\n"
        "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
        "trainer = Trainer(model, optimizer, train_loader=train_loader, val_loader=val_loader,\n"
        "                  epochs=100, seed=0)\n"
        "history = trainer.fit().to_dict()\n"
        'print("best epoch:", history["best_epoch"], "final val_acc:", history["val_acc"][-1])\n'
        "print(diagnose(history, num_classes=splits.info.num_classes).sentence)\n"
    )


@pytest.mark.parametrize("demo, params", [
    ("overfit", {"dataset": "xor", "epochs": 2, "train_size": 120, "width": 16, "depth": 2, "seed": 4}),
    ("early_stopping", {"epochs": 2, "train_size": 120, "width": 16, "patience": 1, "continue_past_stop": True}),
])
def test_snippet_runs_and_reproduces_the_lab(client, demo, params):
    """Executed for 2 epochs, the snippet's history equals the lab job's (same seed, same numbers)."""
    scope: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(codegen.snippet(demo, params), "<snippet>", "exec"), scope)
    assert "best epoch" in out.getvalue() or "stopped at epoch" in out.getvalue()
    lab = run_job(client, demo, params)[-1][1]["history"]
    mine = scope["history"]
    # rounding: the lab sends 5 significant digits
    assert mine["epoch"] == lab["epoch"] == [1, 2]
    assert mine["val_loss"] == pytest.approx(lab["val_loss"], rel=1e-4)
    assert mine["train_loss"] == pytest.approx(lab["train_loss"], rel=1e-4)


def test_snippet_rejects_an_unknown_demo():
    with pytest.raises(ValueError) as exc:
        codegen.snippet("lasso")
    assert str(exc.value) == (
        "Invalid value for argument `demo`. Expected one of 'overfit', 'weight_decay', 'early_stopping', "
        "'dropout', 'mixup'. Received: demo='lasso'"
    )


def test_weight_decay_snippet_names_the_penalty():
    code = codegen.snippet("weight_decay", {"penalty": "l1", "lam": 0.01})
    assert "from reglab.penalties import l1_penalty\n" in code
    assert "    return lam * l1_penalty([w for w in model.parameters() if w.dim() >= 2])" in code
    none = codegen.snippet("weight_decay", {"penalty": "none"})
    assert "reglab.penalties" not in none and 'for name, net, penalties in (("none", model, ()),' in none


def _exec(code: str) -> tuple[dict, str]:
    scope: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(code, "<snippet>", "exec"), scope)
    return scope, out.getvalue()


def test_weight_decay_snippet_reproduces_both_arms(client):
    params = {"penalty": "l2", "lam": 0.01, "epochs": 2, "train_size": 100, "width": 16, "depth": 1}
    scope, out = _exec(codegen.snippet("weight_decay", params))
    lab = run_job(client, "weight_decay", params)[-1][1]
    # the loop trains the regularized model, then the baseline: `history` is the baseline's
    assert scope["history"]["val_loss"] == pytest.approx(lab["baseline"]["history"]["val_loss"], rel=1e-4)
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["l2", "none"]
    assert f"weight norm={lab['regularized']['weight_norm']:.3f}" in lines[0]
    assert f"near zero={lab['baseline']['near_zero']}/{lab['baseline']['n_weights']}" in lines[1]


def test_dropout_snippet_prints_the_pages_mask(client):
    import re

    params = {"p": 0.25, "seed": 7}
    scope, out = _exec(codegen.snippet("dropout", params))
    api = client.get("/api/dropout/mask", params=params).json()
    training = out.splitlines()[0]
    assert training.startswith("training:  tensor([")
    printed = [float(v) for v in re.findall(r"\d+\.\d+", training)]
    assert printed == pytest.approx(api["layers"][1]["value"], abs=1e-4)  # the first hidden layer's mask
    assert scope["masks"].mean(dim=0).tolist() == pytest.approx(api["panel"]["train_mean"], rel=1e-4)


def test_mixup_snippet_reproduces_the_pages_batch(client):
    params = {"method": "cutmix", "alpha": 0.7, "seed": 3, "smoothing": 0.2}
    scope, _ = _exec(codegen.snippet("mixup", params))
    api = client.get("/api/mix/sample", params=params).json()
    assert scope["y"].tolist() == api["labels"]
    assert scope["soft"].tolist() == [pytest.approx(row, abs=1e-4) for row in api["soft_targets"]]
