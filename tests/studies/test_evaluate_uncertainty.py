"""evaluate_uncertainty / find_stored_run: the re-trained run equals run_one, MC vs eval-mode
scores come from the same predictions, and refusals carry full messages."""

from __future__ import annotations

import pytest
import torch

from reglab.errors import ConfigError, StoreError
from reglab.experiments.execute import run_one, train
from reglab.experiments.spec import RunSpec
from reglab.experiments.store import RunStore
from reglab.studies.uncertainty import evaluate_uncertainty, find_stored_run
from reglab.uncertainty import calibration_metrics, deterministic_predict, mc_predict


def _spec(arm: str = "dropout", dropout: float = 0.3, seed: int = 0) -> RunSpec:
    return RunSpec.from_dict({
        "arm": arm, "seed": seed, "epochs": 3, "batch_size": 50,
        "data": {"name": "blobs", "options": {"n_samples": 300}},
        "model": {"name": "mlp", "options": {"width": 16}},
        "regularization": {"dropout": dropout},
    })


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    path = tmp_path_factory.mktemp("unc-store") / "runs.sqlite"
    results = [run_one(_spec("baseline", 0.0, s)) for s in (0, 1)] + [run_one(_spec("dropout", 0.3, s)) for s in (0, 1)]
    with RunStore(path) as store:
        store.plan_study("demo", "study", {}, [r.spec for r in results])
        for r in results:
            store.add_result("demo", r, None)
    return path, results


def test_retrained_run_matches_run_one_and_mc_scores(stored):
    _, results = stored
    spec = _spec("dropout", 0.3, 1)
    r = evaluate_uncertainty(spec, samples=6, seed=3, n_bins=5, top_k=4)
    assert r.deterministic.accuracy == results[3].final["test_acc"]
    model, _, splits = train(spec, device="cpu", progress=False)
    det = deterministic_predict(model, splits.x_test)
    assert r.deterministic == calibration_metrics(det, splits.y_test, 5)
    pred = mc_predict(model, splits.x_test, 6, generator=torch.Generator().manual_seed(3), top_k=4)
    assert r.mc == calibration_metrics(pred.probs, splits.y_test, 5, log_probs=pred.log_probs)
    assert [u["index"] for u in r.uncertain] == pred.most_uncertain.tolist()
    assert torch.equal(r.inputs, splits.x_test[pred.most_uncertain])
    assert r.uncertain[0]["mutual_information"] == pytest.approx(float(pred.mutual_information.max()), abs=0)
    assert r.to_dict()["mc"]["ece"] == r.mc.ece


def test_find_stored_run_defaults_and_choices(stored):
    path, _ = stored
    run = find_stored_run(path)
    assert (run.spec.arm, run.spec.seed) == ("dropout", 0)
    assert find_stored_run(path, arm="baseline", seed=1).spec == _spec("baseline", 0.0, 1)
    with pytest.raises(ValueError) as exc:
        find_stored_run(path, arm="mixup")
    assert str(exc.value) == "Invalid value for argument `arm`. Expected one of 'baseline', 'dropout'. Received: arm='mixup'"
    with pytest.raises(ValueError) as exc:
        find_stored_run(path, arm="dropout", seed=7)
    assert str(exc.value) == ("Invalid value for argument `seed`. Expected one of the seeds of arm 'dropout': 0, 1. "
                              "Received: seed=7")


def test_refusals(tmp_path):
    with pytest.raises(ConfigError) as exc:
        evaluate_uncertainty(_spec("baseline", 0.0))
    assert str(exc.value) == (
        "Run 'baseline' (seed 0) has no dropout layer, so MC dropout has nothing to sample. Expected a run "
        "trained with dropout > 0 (e.g. the study arm 'dropout', or --dropout 0.2 for a fresh run). "
        "Received: regularization.dropout=0.0")
    reg = RunSpec.from_dict({"epochs": 1, "data": {"name": "diabetes"}, "regularization": {"dropout": 0.2}})
    with pytest.raises(ConfigError) as exc:
        evaluate_uncertainty(reg)
    assert str(exc.value) == ("Run 'baseline' is a regression run on 'diabetes'. Expected a classification run "
                              "(calibration needs class probabilities). Received: dataset 'diabetes'")
    with pytest.raises(StoreError) as exc:
        find_stored_run(tmp_path / "none.sqlite")
    assert str(exc.value) == (f"Run store {str(tmp_path / 'none.sqlite')!r} not found. Expected the runs.sqlite "
                              "file written by `reglab study` or `reglab sweep`. Received: a path that does not exist")
    with pytest.raises(ValueError) as exc:
        evaluate_uncertainty(_spec(), split="train")
    assert str(exc.value) == "Invalid value for argument `split`. Expected one of 'test', 'val'. Received: split='train'"
