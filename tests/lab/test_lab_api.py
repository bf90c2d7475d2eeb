"""The lab's JSON API through FastAPI's TestClient: every endpoint, its validation and limits."""

from __future__ import annotations

import math
import time

import pytest
import torch

from lab_helpers import make_client, parse_sse, run_job

from reglab.lab.schemas import GRID_SIZE


def test_health(client):
    assert client.get("/api/health").json() == {
        "status": "ok", "version": "0.1.0", "jobs_running": 0, "max_jobs": 4, "warm": False, "retained_bytes": 0}


def test_limits(client):
    assert client.get("/api/limits").json() == {
        "max_jobs": 4, "keep_finished": 64, "keep_bytes": 67108864, "unwatched_timeout": 15.0, "max_epochs": 500,
        "max_train_size": 5000, "max_width": 256, "max_depth": 4, "max_batch_size": 1024, "grid_size": 50,
    }


def test_demos_lists_defaults(client):
    body = client.get("/api/demos").json()
    assert sorted(body) == ["distillation", "early_stopping", "mc_dropout", "overfit", "stochastic_depth",
                            "weight_decay"]
    assert body["overfit"]["defaults"] == {
        "train_size": 60, "label_noise": 0.1, "width": 128, "depth": 3, "epochs": 100, "lr": 0.01,
        "batch_size": 32, "seed": 0, "dataset": "moons", "boundary_every": 5,
        "dropout": 0.0, "weight_decay": 0.0, "patience": 0, "augment": 0.0, "label_smoothing": 0.0, "mixup": 0.0,
    }
    assert body["weight_decay"]["schema"]["properties"]["lam"]["maximum"] == 1.0


@pytest.mark.parametrize(("page", "script"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
def test_interactive_docs_load_their_scripts_from_the_lab_itself(client, page, script):
    html = client.get(page).text
    assert f'src="/static-offline-docs/{script}"' in html
    assert "cdn." not in html  # nothing fetched from the internet
    served = client.get(f"/static-offline-docs/{script}")
    assert served.status_code == 200
    assert len(served.content) > 100_000  # the real bundle, not a stub


def test_openapi_lists_every_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert sorted(paths) == [
        "/api/augment/sample", "/api/code", "/api/demos", "/api/dropout/mask", "/api/health", "/api/jobs", "/api/jobs/{job_id}",
        "/api/jobs/{job_id}/control", "/api/jobs/{job_id}/events", "/api/limits", "/api/mix/sample",
    ]
    assert sorted(paths["/api/jobs/{job_id}"]) == ["delete", "get"]


@pytest.mark.parametrize("path, title", [
    ("/", "<title>reglab lab</title>"),
    ("/overfit", "<title>Overfitting in action · reglab lab</title>"),
    ("/dropout", "<title>Dropout · reglab lab</title>"),
    ("/weight-decay", "<title>Weight decay · reglab lab</title>"),
    ("/early-stopping", "<title>Early stopping · reglab lab</title>"),
    ("/mixup", "<title>Mixup, CutMix and label smoothing · reglab lab</title>"),
    ("/mc-dropout", "<title>MC dropout · reglab lab</title>"),
    ("/label-smoothing", "<title>Label smoothing · reglab lab</title>"),
    ("/stochastic-depth", "<title>Stochastic depth · reglab lab</title>"),
    ("/augmentation", "<title>Augmentation · reglab lab</title>"),
    ("/distillation", "<title>Distillation · reglab lab</title>"),
    ("/quiz", "<title>Quiz · reglab lab</title>"),
])
def test_pages(client, path, title):
    resp = client.get(path)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert title in resp.text


def test_plotly_is_served_from_the_installed_package(client):
    import plotly

    from reglab.lab.app import plotly_js_path

    resp = client.get("/vendor/plotly.min.js")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/javascript")
    assert resp.content == plotly_js_path().read_bytes()
    assert str(plotly_js_path()).startswith(str(plotly.__path__[0]))


def test_static_module_is_served(client):
    resp = client.get("/static/lab.js")
    assert resp.status_code == 200
    assert "export class JobRunner" in resp.text


# -- POST /api/jobs validation --------------------------------------------------------------------
@pytest.mark.parametrize("body, message", [
    ({"demo": "overfit", "params": {"epochs": 501}}, "overfit.params.epochs: Input should be less than or equal to 500"),
    ({"demo": "overfit", "params": {"train_size": 5001}},
     "overfit.params.train_size: Input should be less than or equal to 5000"),
    ({"demo": "overfit", "params": {"width": 257}}, "overfit.params.width: Input should be less than or equal to 256"),
    ({"demo": "overfit", "params": {"depth": 0}}, "overfit.params.depth: Input should be greater than or equal to 1"),
    ({"demo": "overfit", "params": {"dataset": "cifar"}},
     "overfit.params.dataset: Input should be 'moons', 'circles', 'spirals', 'xor', 'blobs', 'digits' or 'mnist1d'"),
    ({"demo": "overfit", "params": {"epoch": 5}}, "overfit.params.epoch: Extra inputs are not permitted"),
    ({"demo": "weight_decay", "params": {"penalty": "l3"}},
     "weight_decay.params.penalty: Input should be 'l2', 'l1' or 'none'"),
    ({"demo": "weight_decay", "params": {"dataset": "digits"}},
     "weight_decay.params.dataset: Input should be 'moons', 'circles', 'spirals', 'xor' or 'blobs'"),
    ({"demo": "early_stopping", "params": {"patience": -1}},
     "early_stopping.params.patience: Input should be greater than or equal to 0"),
    ({"demo": "nope"}, "Input tag 'nope' found using 'demo' does not match any of the expected tags: "
                       "'overfit', 'weight_decay', 'early_stopping', 'mc_dropout', 'stochastic_depth', "
                       "'distillation'"),
    ({"demo": "stochastic_depth", "params": {"max_rate": 1.0}},
     "stochastic_depth.params.max_rate: Input should be less than or equal to 0.9"),
    ({"demo": "overfit", "params": {"dropout": 0.9}}, "overfit.params.dropout: Input should be less than or equal to 0.8"),
])
def test_create_job_rejects_invalid_params(client, body, message):
    resp = client.post("/api/jobs", json=body)
    assert resp.status_code == 422
    assert resp.json()["message"] == message


def test_create_job_rejects_data_it_cannot_build(client):
    resp = client.post("/api/jobs", json={"demo": "overfit", "params": {"train_size": 700}})
    assert resp.status_code == 400
    assert resp.json() == {"detail": (
        "Invalid value for argument `train_size`. Expected an integer in [1, 640] ('moons' has 800 training "
        "samples, 160 of them held out for validation). Received: train_size=700")}
    assert client.get("/api/health").json()["jobs_running"] == 0  # the slot was given back


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_job_limit_is_429_with_a_message_and_frees_on_cancel():
    with make_client(max_jobs=1) as c:
        first = c.post("/api/jobs", json={"demo": "overfit", "params": {"epochs": 500, "width": 8, "depth": 1}})
        assert first.status_code == 201
        second = c.post("/api/jobs", json={"demo": "overfit", "params": {"epochs": 5}})
        assert second.status_code == 429
        assert second.json() == {"detail": "Too many training jobs: 1 are running and the limit is 1. Stop one "
                                           "(close its page) or wait for one to finish."}
        job_id = first.json()["id"]
        assert c.delete(f"/api/jobs/{job_id}").status_code == 200
        wait_for(lambda: c.get(f"/api/jobs/{job_id}").json()["state"] == "cancelled")
        assert c.post("/api/jobs", json={"demo": "overfit", "params": {"epochs": 1}}).status_code == 201


def test_unknown_and_malformed_job_ids(client):
    resp = client.get("/api/jobs/0123456789ab")
    assert resp.status_code == 404
    assert resp.json() == {"detail": "No training job has id '0123456789ab'; it never existed or finished long ago."}
    assert client.delete("/api/jobs/0123456789ab").status_code == 404
    assert client.get("/api/jobs/0123456789ab/events").status_code == 404
    bad = client.get("/api/jobs/not-an-id")
    assert bad.status_code == 422
    assert bad.json()["message"] == "job_id: String should match pattern '^[0-9a-f]{12}$'"


def test_unwatched_job_is_cancelled():
    with make_client(unwatched_timeout=0.2) as c:
        job_id = c.post("/api/jobs", json={"demo": "overfit", "params": {"epochs": 500, "width": 8, "depth": 1}}).json()["id"]
        wait_for(lambda: c.get(f"/api/jobs/{job_id}").json()["state"] == "cancelled")


# -- the event stream -------------------------------------------------------------------------------
def test_overfit_stream(client):
    events = run_job(client, "overfit", {"epochs": 7, "boundary_every": 3})
    names = [name for name, _ in events]
    assert names == ["start"] + ["epoch"] * 7 + ["done"]
    start = events[0][1]
    assert start["info"]["n_train"] == 60 and start["info"]["n_flipped"] == 6 and start["info"]["num_classes"] == 2
    assert len(start["points"]["train"]["x"]) == 60 and len(start["points"]["val"]["label"]) == 160
    assert len(start["grid"]["x"]) == GRID_SIZE and len(start["grid"]["y"]) == GRID_SIZE
    epochs = [data for name, data in events if name == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4, 5, 6, 7]
    assert [e["epoch"] for e in epochs if "boundary" in e] == [1, 3, 6, 7]  # first, every 3rd, last
    z = epochs[0]["boundary"]["z"]
    assert epochs[0]["boundary"]["kind"] == "prob" and len(z) == GRID_SIZE and all(len(r) == GRID_SIZE for r in z)
    assert all(0.0 <= v <= 1.0 for row in z for v in row)
    for e in epochs:
        assert e["gap"] == pytest.approx(e["train_acc"] - e["val_acc"], abs=2e-5)
        assert e["verdict"] in ("underfitting", "good fit", "overfitting")
    done = events[-1][1]
    assert done["history"]["epoch"] == [1, 2, 3, 4, 5, 6, 7]
    assert done["history"]["val_loss"] == [e["val_loss"] for e in epochs]
    assert done["best_epoch"] == min(range(7), key=lambda i: epochs[i]["val_loss"]) + 1
    assert done["stop_reason"] == "Completed all 7 epochs."


def test_multiclass_boundary_is_the_predicted_class(client):
    events = run_job(client, "overfit", {"dataset": "blobs", "epochs": 1, "width": 16, "depth": 1})
    boundary = events[1][1]["boundary"]
    assert boundary["kind"] == "class"
    assert {v for row in boundary["z"] for v in row} <= {0, 1, 2}


def test_digits_stream_has_no_boundary(client):
    events = run_job(client, "overfit", {"dataset": "digits", "epochs": 2, "width": 32, "depth": 1})
    assert events[0][1]["grid"] is None and events[0][1]["points"] is None
    assert [n for n, _ in events] == ["start", "epoch", "epoch", "done"]
    assert "boundary" not in events[1][1]


def test_same_seed_same_numbers(client):
    params = {"epochs": 3, "train_size": 100, "seed": 3}
    a = run_job(client, "overfit", params)[-1][1]["history"]
    b = run_job(client, "overfit", params)[-1][1]["history"]
    assert a["train_loss"] == b["train_loss"] and a["val_loss"] == b["val_loss"]


def test_last_event_id_resumes_the_stream(client):
    url = client.post("/api/jobs", json={"demo": "overfit", "params": {"epochs": 3}}).json()["events"]
    with client.stream("GET", url) as s:
        full = list(parse_sse(s.iter_lines()))
    # a finished job's events stay replayable; Last-Event-ID continues after the given event
    with client.stream("GET", url, headers={"Last-Event-ID": "2"}) as s:
        rest = list(parse_sse(s.iter_lines()))
    assert [i for _, i, _ in full] == [0, 1, 2, 3, 4]
    assert [n for n, _, _ in full] == ["start", "epoch", "epoch", "epoch", "done"]
    assert rest == full[3:]


def test_finished_jobs_beyond_keep_finished_are_forgotten():
    params = {"epochs": 1, "width": 4, "depth": 1}
    with make_client(keep_finished=1) as c:
        ids = []
        for _ in range(3):
            ids.append(c.post("/api/jobs", json={"demo": "overfit", "params": params}).json()["id"])
            wait_for(lambda: c.get(f"/api/jobs/{ids[-1]}").json()["state"] == "done")
        # each finished job makes the manager forget the finished jobs beyond the newest `keep_finished`
        assert [c.get(f"/api/jobs/{i}").status_code for i in ids] == [404, 404, 200]


def test_early_stopping_stops_restores_and_continues(client):
    params = {"dataset": "moons", "lr": 0.01, "epochs": 60, "patience": 3, "train_size": 100, "label_noise": 0.3,
              "width": 32, "depth": 2}
    events = run_job(client, "early_stopping", params)
    stop = [d for n, d in events if n == "stop"]
    done = events[-1][1]
    epochs = [d for n, d in events if n == "epoch"]
    assert len(stop) == 1 and stop[0]["continuing"] is False
    assert stop[0]["epoch"] == done["stopped_epoch"] == done["early_stop_epoch"] == len(epochs)
    best = min(range(len(epochs)), key=lambda i: epochs[i]["val_loss"]) + 1
    assert done["best_epoch"] == best == done["stopped_epoch"] - 3  # patience 3, min_delta 0
    assert done["restored"]["val_loss"] == pytest.approx(epochs[best - 1]["val_loss"], rel=1e-4)
    assert done["stop_reason"].endswith(f"restored the weights of epoch {best}.")

    more = run_job(client, "early_stopping", {**params, "continue_past_stop": True})
    more_epochs = [d for n, d in more if n == "epoch"]
    assert len(more_epochs) == 60
    assert [d for n, d in more if n == "stop"][0]["epoch"] == done["stopped_epoch"]
    assert more[-1][1]["early_stop_epoch"] == done["stopped_epoch"]
    # the same seed gives the same numbers up to the stop
    assert [e["val_loss"] for e in more_epochs[: len(epochs)]] == [e["val_loss"] for e in epochs]


@pytest.mark.parametrize("penalty", ["l1", "l2"])
def test_weight_decay_arms(client, penalty):
    """SGD (the default): both penalties shrink the weights; only L1 makes them sparse."""
    params = {"penalty": penalty, "lam": 0.003, "epochs": 30, "train_size": 100, "width": 32, "depth": 2}
    events = run_job(client, "weight_decay", params)
    done = events[-1][1]
    reg, base = done["regularized"], done["baseline"]
    assert reg["n_weights"] == base["n_weights"] == events[0][1]["n_weights"] == 2 * 32 + 32 * 32 + 32 * 2
    assert reg["weight_norm"] < 0.75 * base["weight_norm"]
    if penalty == "l1":
        assert reg["near_zero"] > 0.5 * reg["n_weights"] > 10 * base["near_zero"]
    else:
        assert reg["near_zero"] < 0.1 * reg["n_weights"]
    last = [d for n, d in events if n == "epoch" and d["arm"] == "regularized"][-1]
    assert last["weight_norm"] == reg["weight_norm"] and last["near_zero"] == reg["near_zero"]
    arms = [d["arm"] for n, d in events if n == "epoch"]
    assert arms.count("regularized") == arms.count("baseline") == 30


def test_weight_decay_twin_is_the_overfit_demo(client):
    """With Adam, the unregularized twin is exactly the overfit demo with the same settings."""
    shared = {"epochs": 5, "train_size": 100, "width": 16, "depth": 2, "lr": 0.01}
    done = run_job(client, "weight_decay", {**shared, "penalty": "l2", "lam": 0.01, "optimizer": "adam"})[-1][1]
    twin = run_job(client, "overfit", shared)[-1][1]
    assert done["baseline"]["history"]["val_loss"] == twin["history"]["val_loss"]
    assert done["regularized"]["history"]["val_loss"] != twin["history"]["val_loss"]


def test_weight_decay_penalty_none_trains_identical_twins(client):
    done = run_job(client, "weight_decay", {"penalty": "none", "epochs": 3, "width": 8, "depth": 1})[-1][1]
    assert done["regularized"]["history"]["val_loss"] == done["baseline"]["history"]["val_loss"]


# -- dropout masks ----------------------------------------------------------------------------------
def test_dropout_mask_training(client):
    body = client.get("/api/dropout/mask", params={"p": 0.5, "seed": 0, "layers": "4,8,8,2"}).json()
    assert [layer["units"] for layer in body["layers"]] == [4, 8, 8, 2]
    assert [layer["hidden"] for layer in body["layers"]] == [False, True, True, False]
    assert body["train_scale"] == 2.0 and body["inference_scale"] == 1.0
    for layer in body["layers"]:
        assert layer["kept"] == [v != 0 for v in layer["value"]]
        assert set(layer["value"]) <= ({0.0, 2.0} if layer["hidden"] else {1.0})
    assert body["dropped"] == sum(v == 0 for layer in body["layers"] for v in layer["value"])
    # the masks are reglab.functional.dropout's, for this seed
    from reglab.functional import dropout

    g = torch.Generator().manual_seed(0)
    expected = [dropout(torch.ones(8), 0.5, "inverted", training=True, generator=g).tolist() for _ in range(2)]
    assert [body["layers"][1]["value"], body["layers"][2]["value"]] == expected


@pytest.mark.parametrize("scaling, p", [("inverted", 0.5), ("inverted", 0.2), ("classic", 0.5), ("classic", 0.7)])
def test_dropout_expected_activation_matches_inference(client, scaling, p):
    samples = 4000
    body = client.get("/api/dropout/mask", params={"p": p, "scaling": scaling, "samples": samples, "seed": 1}).json()
    panel = body["panel"]
    a = panel["activation"]
    assert a == pytest.approx([0.2 + 0.8 * j / 7 for j in range(8)], abs=1e-5)
    target = a if scaling == "inverted" else [(1 - p) * v for v in a]
    assert panel["inference"] == pytest.approx(target, rel=1e-4)  # the API rounds to 5 digits
    for j, v in enumerate(a):
        # one output is 0 or a*s (s the training scale): its std is a*s*sqrt(p(1-p)); 4.5 standard errors
        s = 1 / (1 - p) if scaling == "inverted" else 1.0
        se = v * s * math.sqrt(p * (1 - p) / samples)
        assert abs(panel["train_mean"][j] - target[j]) < 4.5 * se
        assert panel["train_stderr"][j] == pytest.approx(se, rel=0.1)


def test_dropout_inference_keeps_every_neuron(client):
    body = client.get("/api/dropout/mask", params={"p": 0.6, "mode": "eval", "scaling": "classic"}).json()
    assert body["dropped"] == 0
    assert body["layers"][1]["value"] == [pytest.approx(0.4)] * 8
    inverted = client.get("/api/dropout/mask", params={"p": 0.6, "mode": "eval"}).json()
    assert inverted["layers"][1]["value"] == [1.0] * 8


@pytest.mark.parametrize("params, message", [
    ({"p": 1.0}, "p: Input should be less than 1"),
    ({"p": -0.1}, "p: Input should be greater than or equal to 0"),
    ({"mode": "test"}, "mode: Input should be 'train' or 'eval'"),
    ({"layers": "4,0,2"}, "layers: Value error, every layer needs 1 to 16 units, got 4,0,2"),
    ({"layers": "4"}, "layers: String should match pattern '^\\d{1,2}(,\\d{1,2}){1,5}$'"),
    ({"samples": 20001}, "samples: Input should be less than or equal to 20000"),
    ({"colour": "red"}, "colour: Extra inputs are not permitted"),
])
def test_dropout_mask_rejects_invalid_queries(client, params, message):
    resp = client.get("/api/dropout/mask", params=params)
    assert resp.status_code == 422
    assert resp.json()["message"] == message


# -- mixup / CutMix ---------------------------------------------------------------------------------
def test_mixup_sample_is_a_convex_combination(client):
    body = client.get("/api/mix/sample", params={"method": "mixup", "alpha": 1.0, "seed": 2, "smoothing": 0.1}).json()
    x = torch.tensor(body["images"])
    mixed = torch.tensor(body["mixed"])
    soft = torch.tensor(body["soft_targets"])
    labels = body["labels"]
    assert soft.sum(dim=1).tolist() == pytest.approx([1.0] * 6, abs=1e-3)
    # one lam per batch: a sample whose partner has another label keeps lam of its own class
    lam = min(float(soft[i, labels[i]]) for i in range(6))
    assert 0.0 < lam < 1.0
    partners = []
    for i in range(6):
        errors = [float((mixed[i] - (lam * x[i] + (1 - lam) * x[j])).abs().max()) for j in range(6)]
        j = min(range(6), key=errors.__getitem__)
        assert errors[j] < 2e-3
        partners.append(j)
        expected = torch.zeros(10)
        expected[labels[i]] += lam
        expected[labels[j]] += 1 - lam
        assert torch.allclose(soft[i], expected, atol=2e-4)
    assert sorted(partners) == list(range(6))  # the batch is mixed with a permutation of itself
    smoothed = torch.tensor(body["smoothed_targets"])
    assert torch.allclose(smoothed, 0.9 * soft + 0.01, atol=2e-4)


def test_cutmix_sample_pastes_pixels(client):
    body = client.get("/api/mix/sample", params={"method": "cutmix", "alpha": 1.0, "seed": 5}).json()
    x = torch.tensor(body["images"])
    mixed = torch.tensor(body["mixed"])
    for i in range(6):
        own = (mixed[i] - x[i]).abs() < 1e-3
        assert any(bool(((mixed[i] - x[j]).abs() < 1e-3).logical_or(own).all()) for j in range(6))


def test_smoothed_targets_match_reglab_label_smoothing_loss():
    from reglab.lab.demos.mixing import smooth
    from reglab.losses import label_smoothing_cross_entropy, soft_target_cross_entropy

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 10, generator=g)
    soft = torch.softmax(torch.randn(6, 10, generator=g), dim=1)
    expected = label_smoothing_cross_entropy(logits, soft, 0.2)
    assert torch.allclose(soft_target_cross_entropy(logits, smooth(soft, 0.2)), expected, atol=1e-6)


@pytest.mark.parametrize("params, message", [
    ({"method": "cutout"}, "method: Input should be 'mixup' or 'cutmix'"),
    ({"alpha": 0}, "alpha: Input should be greater than 0"),
    ({"smoothing": 1}, "smoothing: Input should be less than 1"),
])
def test_mix_sample_rejects_invalid_queries(client, params, message):
    resp = client.get("/api/mix/sample", params=params)
    assert resp.status_code == 422
    assert resp.json()["message"] == message


# -- copy as code -----------------------------------------------------------------------------------
@pytest.mark.parametrize("demo", ["overfit", "weight_decay", "early_stopping", "dropout", "mixup"])
def test_code_for_default_settings_compiles(client, demo):
    resp = client.post("/api/code", json={"demo": demo})
    assert resp.status_code == 200
    compile(resp.json()["code"], f"<{demo} snippet>", "exec")


def test_code_rejects_invalid_params(client):
    resp = client.post("/api/code", json={"demo": "overfit", "params": {"epochs": 0}})
    assert resp.status_code == 422
    assert resp.json()["message"] == "params.epochs: Input should be greater than or equal to 1"
    resp = client.post("/api/code", json={"demo": "lasso"})
    assert resp.status_code == 422
    assert resp.json()["message"] == ("demo: Input should be 'overfit', 'weight_decay', 'early_stopping', "
                                      "'dropout' or 'mixup'")


def test_a_failing_runner_becomes_an_error_event():
    from reglab.lab.jobs import JobManager
    from reglab.lab.schemas import LabLimits, OverfitParams

    manager = JobManager(LabLimits(max_jobs=1))

    def prepare(params):
        def run(job):
            job.emit("start", {})
            raise RuntimeError("the model diverged")

        return run

    job = manager.submit("overfit", OverfitParams(), prepare)
    job.thread.join(10)
    assert job.status() == {"id": job.id, "demo": "overfit", "state": "error", "events": 2,
                            "error": "RuntimeError: the model diverged", "paused": False}
    assert [name for name, _ in job.events_since(0)] == ["start", "error"]
    assert job.events_since(1)[0][1]["message"] == "RuntimeError: the model diverged"
    assert manager.running == 0  # the slot is free again


def test_overfit_trains_a_regularized_twin_on_the_same_batches(client):
    params = {"epochs": 4, "train_size": 60, "width": 16, "depth": 1, "dropout": 0.3, "label_smoothing": 0.1}
    events = run_job(client, "overfit", params)
    start, done = events[0][1], events[-1][1]
    assert start["regularizers"] == ["dropout 0.3", "label smoothing 0.1"]
    arms = [d["arm"] for n, d in events if n == "epoch"]
    assert sorted(arms) == ["baseline"] * 4 + ["regularized"] * 4
    # the baseline is the plain run of the same settings (same initial weights, same batches)
    plain = run_job(client, "overfit", {k: v for k, v in params.items() if k not in ("dropout", "label_smoothing")})
    assert done["baseline"]["history"]["val_loss"] == plain[-1][1]["history"]["val_loss"]
    assert done["regularized"]["history"]["val_loss"] != plain[-1][1]["history"]["val_loss"]
    reg, base = done["regularized"]["history"], done["baseline"]["history"]
    gap_r = 100 * (reg["train_acc"][-1] - reg["val_acc"][-1])
    gap_b = 100 * (base["train_acc"][-1] - base["val_acc"][-1])
    assert done["comparison"] == (
        f"With dropout 0.3, label smoothing 0.1 the train-validation accuracy gap "
        f"{'shrinks' if gap_r < gap_b else 'does not shrink'}: {gap_r:.1f} pts against {gap_b:.1f} pts without; "
        f"final validation accuracy {reg['val_acc'][-1]:.3f} against {base['val_acc'][-1]:.3f}, best validation "
        f"loss {min(reg['val_loss']):.3f} against {min(base['val_loss']):.3f}.")


def test_overfit_twin_early_stopping_stops_only_the_regularized_arm(client):
    events = run_job(client, "overfit", {"epochs": 40, "train_size": 60, "width": 16, "depth": 1, "patience": 2,
                                         "lr": 0.03})
    done = events[-1][1]
    assert len(done["baseline"]["history"]["epoch"]) == 40
    assert len(done["regularized"]["history"]["epoch"]) < 40
    stopped = len(done["regularized"]["history"]["epoch"])
    assert done["regularized"]["stop_reason"].startswith(f"Stopped at epoch {stopped}: val_loss did not improve for 2 epochs")


def _epochs_seen(job, arm=None):
    return sum(1 for n, d in job.events_since(0) if n == "epoch" and d.get("arm") == arm)


def _settled(job, arm=None):
    """The epoch count once it has stopped changing for 0.3 s (the job is paused)."""
    last, since = -1, time.monotonic()
    while True:
        now = _epochs_seen(job, arm)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > 0.3:
            return now
        time.sleep(0.02)


@pytest.mark.parametrize("params, arms", [
    ({"epochs": 60, "train_size": 40, "width": 8, "depth": 1}, [None]),
    ({"epochs": 60, "train_size": 40, "width": 8, "depth": 1, "dropout": 0.2}, ["regularized", "baseline"]),
])
def test_pause_single_step_and_resume(client, params, arms):
    job_id = client.post("/api/jobs", json={"demo": "overfit", "params": params}).json()["id"]
    job = client.app.state.jobs.get(job_id)
    job.subscribe()
    assert client.post(f"/api/jobs/{job_id}/control", json={"action": "pause"}).json()["paused"] is True
    paused_at = {arm: _settled(job, arm) for arm in arms}
    assert all(0 < n < 60 for n in paused_at.values())
    assert job.state == "running"
    resp = client.post(f"/api/jobs/{job_id}/control", json={"action": "step"})
    assert resp.json()["paused"] is True
    assert {arm: _settled(job, arm) for arm in arms} == {arm: n + 1 for arm, n in paused_at.items()}  # one epoch each
    client.post(f"/api/jobs/{job_id}/control", json={"action": "resume"})
    wait_for(lambda: job.state == "done")
    assert {arm: _epochs_seen(job, arm) for arm in arms} == {arm: 60 for arm in arms}


def test_control_rejects_an_unknown_action(client):
    job_id = client.post("/api/jobs", json={"demo": "overfit", "params": {"epochs": 1}}).json()["id"]
    resp = client.post(f"/api/jobs/{job_id}/control", json={"action": "rewind"})
    assert resp.status_code == 422
    assert resp.json()["message"] == "action: Input should be 'pause', 'resume' or 'step'"


def test_overfit_twin_with_mixup_and_jitter(client):
    events = run_job(client, "overfit", {"epochs": 3, "train_size": 40, "width": 8, "depth": 1, "mixup": 1.0,
                                         "augment": 0.2})
    assert events[0][1]["regularizers"] == ["input jitter 0.2", "mixup (alpha 1)"]
    done = events[-1][1]
    assert len(done["regularized"]["history"]["val_loss"]) == len(done["baseline"]["history"]["val_loss"]) == 3
    assert done["regularized"]["history"]["train_loss"] != done["baseline"]["history"]["train_loss"]



def test_augment_sample_keeps_labels_and_draws_per_sample(client):
    import torch

    from reglab.augment.image import random_crop
    from reglab.augment.signal import random_shift

    body = client.get("/api/augment/sample", params={"dataset": "mnist1d", "strength": 0.5, "seed": 1}).json()
    assert body["op"] == "circular shift" and body["amount"] == 5 and len(body["labels"]) == 6
    for orig, aug in zip(body["original"], body["augmented"]):  # each is a roll of its original
        shifts = [s for s in range(-5, 6) if torch.allclose(torch.roll(torch.tensor(orig), s), torch.tensor(aug), atol=1e-3)]
        assert len(shifts) >= 1
    x = torch.arange(2 * 12, dtype=torch.float32).reshape(2, 12)
    g = torch.Generator().manual_seed(0)
    out = random_shift(x, 3, generator=g)
    assert all(any(torch.equal(out[i], torch.roll(x[i], s)) for s in range(-3, 4)) for i in range(2))
    assert torch.equal(random_shift(x, 0, generator=g), x)  # zero magnitude is the identity
    img = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8).repeat(3, 1, 1, 1)
    assert torch.equal(random_crop(img, 0, g), img)
    cropped = random_crop(img, 2, g)
    assert cropped.shape == img.shape and (cropped == 0).any()
    resp = client.get("/api/augment/sample", params={"dataset": "cifar10"})
    assert resp.status_code == 422
