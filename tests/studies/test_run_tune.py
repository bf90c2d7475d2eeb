"""run_tune: Optuna search over the techniques' tune ranges, chosen on validation, test measured once,
resumable from its SQLite study; the pruning callback; the Ray dispatch."""

from __future__ import annotations

import sys

import pytest

optuna = pytest.importorskip("optuna")

from reglab.errors import ConfigError, ReglabError  # noqa: E402
from reglab.experiments.store import RunStore  # noqa: E402
from reglab.studies import tune as tune_mod  # noqa: E402
from reglab.studies.tune import OptunaPruning, load_tune_config, make_pruner, run_tune, trial_spec  # noqa: E402
from reglab.techniques import TECHNIQUES, SearchRange, Technique, tunable  # noqa: E402

#: MNIST-1D, 1,000 training samples, 20 epochs: trial 4 samples weight decay 0.684, which beats the
#: baseline on validation (45.9% vs 41.8%); a trial trains in under a second single-threaded.
WD = {"techniques": ["weight_decay"], "train_size": 1000, "epochs": 20, "seed": 0}


def _config(tmp_path, **extra):
    return load_tune_config(overrides={**WD, "out": str(tmp_path / "out"), **extra})


def _load_study(config):
    storage = f"sqlite:///{(config.out_dir() / 'tune.sqlite').resolve()}"
    return optuna.load_study(study_name=config.name, storage=storage)


class _Interrupt:
    """Wraps ``evaluate_trial``: records each trial index it is asked for; Ctrl-C at call ``at``."""

    def __init__(self, monkeypatch, at=None):
        self.real = tune_mod.evaluate_trial
        self.at = at
        self.indices = []
        monkeypatch.setattr(tune_mod, "evaluate_trial", self)

    def __call__(self, config_data, finished, index, **kw):
        if self.at is not None and len(self.indices) == self.at:
            raise KeyboardInterrupt
        self.indices.append(index)
        return self.real(config_data, finished, index, **kw)


def test_tune_finds_a_weight_decay_better_on_validation_and_resumes_without_rerunning(tmp_path, monkeypatch):
    calls = _Interrupt(monkeypatch, at=2)
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C during the third trial
        run_tune(_config(tmp_path, trials=5))
    study = _load_study(_config(tmp_path))
    first = [(t.number, t.state.name, t.params, t.value, t.datetime_start) for t in study.trials]
    assert [f[:2] for f in first] == [(0, "COMPLETE"), (1, "COMPLETE")]  # nothing left RUNNING
    assert first[0][2] == {} and study.trials[0].user_attrs["baseline"] is True

    calls.at, calls.indices = None, []
    summary = run_tune(_config(tmp_path, trials=5))  # the same command again
    assert calls.indices == [2, 3, 4]  # the two finished trials are not rerun
    study = _load_study(_config(tmp_path))
    assert [(t.number, t.state.name, t.params, t.value, t.datetime_start) for t in study.trials[:2]] == first
    assert len(study.trials) == 5 and (summary.skipped, summary.ran, summary.failed) == (2, 3, 0)

    # chosen on validation: the best trial beats the baseline trial
    assert summary.metric == "val_acc"
    assert summary.baseline.number == 0 and summary.baseline.value == pytest.approx(0.4175)
    assert summary.best.number == 4 and summary.best.params["weight_decay"] == pytest.approx(0.6841466, rel=1e-6)
    assert summary.best.value == pytest.approx(0.45875)
    assert summary.best.value > summary.baseline.value
    assert summary.best.value == study.best_value and summary.best.params == study.best_params

    # the test score: the best spec trained once more (the same weights: the same validation
    # accuracy), measured once and kept in the run store
    assert summary.final["val_acc"] == summary.best.value
    assert summary.final["test_acc"] == pytest.approx(0.482)
    with RunStore(summary.store_path) as store:
        runs = store.runs("tune")
    assert [(r.arm, r.spec.regularization.weight_decay) for r in runs] == [("tuned", summary.best.params["weight_decay"])]
    assert runs[0].final["test_acc"] == summary.final["test_acc"]

    # asked again with the same trials: nothing trains, the stored final run is reused
    calls.indices = []
    again = run_tune(_config(tmp_path, trials=5))
    assert calls.indices == [] and again.ran == 0 and again.final == summary.final
    text = (tmp_path / "out" / "tune.md").read_text()
    assert "Best on validation: trial 4 (weight_decay=0.684), val acc 45.9%." in text
    assert "Baseline (trial 0, searched techniques off): val acc 41.8%." in text
    assert "| 4 * | complete | 0.684 | 45.9% | 96.0% | 20 |" in text
    assert "Test accuracy of the best setting, measured once after the search: 48.2%" in text


@pytest.mark.slow
def test_a_resumed_tune_has_the_trials_of_an_uninterrupted_one(tmp_path):
    small = {"train_size": 200, "epochs": 6}
    run_tune(_config(tmp_path / "a", trials=3, **small))
    resumed = run_tune(_config(tmp_path / "a", trials=7, **small))
    straight = run_tune(_config(tmp_path / "b", trials=7, **small))
    assert any(r.state == "pruned" for r in straight.trials)  # pruning decisions are replayed too
    assert [(r.params, r.value, r.state) for r in resumed.trials] == [(r.params, r.value, r.state) for r in straight.trials]


def test_trials_are_pruned_on_the_per_epoch_validation_metric(tmp_path):
    summary = run_tune(_config(tmp_path, techniques=["dropout"], trials=8, epochs=12, pruner="halving"))
    pruned = [r for r in summary.trials if r.state == "pruned"]
    assert pruned and all(r.epochs < 12 for r in pruned)
    study = _load_study(_config(tmp_path, techniques=["dropout"], epochs=12, pruner="halving"))
    for t in study.trials:  # one intermediate value per trained epoch, epochs numbered from 1
        assert sorted(t.intermediate_values) == list(range(1, t.user_attrs["epochs"] + 1))
        if t.state.name == "PRUNED":  # Optuna keeps the last reported value
            assert t.value == t.intermediate_values[t.user_attrs["epochs"]]
    assert summary.trials[0].state == "complete"  # the baseline: nothing to compare with yet


def test_the_trial_spec_turns_the_searched_techniques_off_then_writes_the_sampled_values(tmp_path):
    config = load_tune_config(overrides={"techniques": ["dropout", "early_stopping"]},
                              sets=["dropout=0.3", "early_stopping=10", "weight_decay=0.01"])
    base = trial_spec(config, None)
    assert (base.arm, base.regularization.dropout, base.regularization.early_stopping) == ("baseline", 0.0, None)
    assert base.regularization.weight_decay == 0.01  # not searched: the base value stays
    spec = trial_spec(config, {"dropout": 0.25, "early_stopping": 7}, arm="tuned")
    assert spec.regularization.dropout == 0.25
    es = spec.regularization.early_stopping
    assert (es.patience, es.monitor, es.mode) == (7, "val_acc", "max")  # written as the study arm writes it


def test_search_ranges_are_read_from_the_technique_definitions():
    assert tunable() == ("dropout", "drop_path", "weight_decay", "l1", "l2", "label_smoothing", "mixup", "cutmix",
                         "input_noise", "max_norm", "grad_clip", "early_stopping", "distillation")
    assert TECHNIQUES["weight_decay"].tune == SearchRange(1e-5, 1.0, log=True)
    assert TECHNIQUES["early_stopping"].tune == SearchRange(5, 50, integer=True)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    assert 1e-5 <= tune_mod._suggest(trial, "weight_decay") <= 1.0
    assert trial.distributions["weight_decay"] == optuna.distributions.FloatDistribution(1e-5, 1.0, log=True)
    assert isinstance(tune_mod._suggest(trial, "early_stopping"), int)
    assert trial.distributions["early_stopping"] == optuna.distributions.IntDistribution(5, 50)


def test_bad_search_ranges_are_refused_with_the_whole_message():
    with pytest.raises(ValueError) as exc:
        SearchRange(1.0, 0.5)
    assert str(exc.value) == ("Invalid value for argument `tune`. Expected finite bounds with low < high. "
                              "Received: tune=(1.0, 0.5)")
    with pytest.raises(ValueError) as exc:
        SearchRange(0.0, 1.0, log=True)
    assert str(exc.value) == "Invalid value for argument `tune`. Expected low > 0 for a log-scale search. Received: tune=0.0"
    with pytest.raises(ValueError) as exc:
        Technique("rate", "a rate", field="rate", default=0.1, range=TECHNIQUES["dropout"].range,
                  tune=SearchRange(0.0, 1.5))
    assert str(exc.value) == ("Invalid value for argument `tune`. Expected bounds in a finite number in [0, 1). "
                              "Received: tune=[0, 1.5] for 'rate'")


@pytest.mark.parametrize(("overrides", "message"), [
    ({"techniques": ["dropout", "wd"]},
     "Invalid value for argument `techniques`. Expected technique names among 'dropout', 'drop_path', "
     "'weight_decay', 'l1', 'l2', 'label_smoothing', 'mixup', 'cutmix', 'input_noise', 'max_norm', 'grad_clip', "
     "'early_stopping', 'distillation' (those with a search range). Received: techniques='wd'"),
    ({"techniques": ["stack"]},
     "Invalid value for argument `techniques`. Expected technique names among 'dropout', 'drop_path', "
     "'weight_decay', 'l1', 'l2', 'label_smoothing', 'mixup', 'cutmix', 'input_noise', 'max_norm', 'grad_clip', "
     "'early_stopping', 'distillation' (those with a search range). Received: techniques='stack'"),
    ({"techniques": ["input_noise", "gaussian_noise"]},
     "Invalid value for argument `techniques`. Expected each technique once. Received: techniques='gaussian_noise'"),
    ({"pruner": "hyperband"},
     "Invalid value for argument `pruner`. Expected one of 'median', 'halving', 'none'. Received: pruner='hyperband'"),
    ({"trials": 0}, "Invalid value for argument `trials`. Expected an integer >= 1. Received: trials=0"),
    ({"runner": "processes"},
     "Invalid value for argument `runner`. Expected one of 'local', 'ray'. Received: runner='processes'"),
])
def test_bad_tune_settings_name_the_field(overrides, message):
    with pytest.raises(ConfigError) as exc:
        load_tune_config(overrides=overrides)
    assert str(exc.value) == message


def test_a_stored_study_is_resumed_only_with_the_same_settings(tmp_path):
    run_tune(_config(tmp_path, trials=1, epochs=2, train_size=200))
    with pytest.raises(ConfigError) as exc:
        run_tune(_config(tmp_path, trials=2, epochs=3, train_size=200))
    db = tmp_path / "out" / "tune.sqlite"
    assert str(exc.value) == (
        f"Cannot resume the tune study 'tune' in {str(db)!r}: it was started with epochs=2, this command has "
        "epochs=3. Expected the same settings (only trials, runner, workers and ray_address may change); use "
        "another --name or --out to start a new study.")


def test_the_pruning_callback_reports_each_epoch_and_stops_a_trial_below_the_median():
    study = optuna.create_study(direction="maximize", pruner=make_pruner("median", 8))
    for value in (0.5, 0.6, 0.7, 0.8, 0.9):  # five finished trials, flat curves
        trial = study.ask()
        for epoch in range(1, 9):
            trial.report(value, epoch)
        study.tell(trial, value)

    class FakeTrainer:
        stop_reason = None

        def request_stop(self, reason):
            self.stop_reason = self.stop_reason or reason

    trainer, trial = FakeTrainer(), study.ask()
    callback = OptunaPruning(trial, "val_acc")
    callback.on_fit_start(trainer)
    for epoch, value in enumerate([0.2, 0.2, 0.2], start=1):  # warm-up: 8 // 4 = 2 epochs never pruned
        callback.on_epoch_end(trainer, epoch, {"val_acc": value, "val_loss": 1.0})
        if trainer.stop_reason:
            break
    assert trial.storage.get_trial(trial._trial_id).intermediate_values == {1: 0.2, 2: 0.2, 3: 0.2}
    assert callback.pruned_epoch == 3
    assert trainer.stop_reason == ("Stopped at epoch 3: pruned by Optuna (val_acc = 0.2 is worse than the "
                                   "pruner's threshold at this epoch).")


def test_pruners_are_optunas_with_the_documented_settings():
    median = make_pruner("median", 40)
    assert isinstance(median, optuna.pruners.MedianPruner)
    assert (median._n_startup_trials, median._n_warmup_steps) == (5, 11)  # epochs 1-10 never pruned
    halving = make_pruner("halving", 40)
    assert isinstance(halving, optuna.pruners.SuccessiveHalvingPruner)
    assert (halving._min_resource, halving._reduction_factor) == (4, 3)
    assert isinstance(make_pruner("none", 40), optuna.pruners.NopPruner)
    with pytest.raises(ValueError) as exc:
        make_pruner("asha", 40)
    assert str(exc.value) == "Invalid value for argument `pruner`. Expected one of 'median', 'halving', 'none'. Received: pruner='asha'"


def test_without_optuna_the_message_names_the_extra(tmp_path, monkeypatch):
    config = _config(tmp_path, trials=1)
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    with pytest.raises(ReglabError) as exc:
        run_tune(config)
    assert str(exc.value) == (
        "reglab tune needs the optuna package, which cannot be imported here (import of optuna halted; None in "
        "sys.modules). Install it with: pip install 'reglab[tune]'")


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # one local Ray instance at a time on this machine
def test_on_ray_one_trial_at_a_time_gives_the_local_trials(tmp_path):
    ray = pytest.importorskip("ray")
    local = run_tune(_config(tmp_path / "local", trials=3, epochs=4, train_size=200))
    on_ray = run_tune(_config(tmp_path / "ray", trials=3, epochs=4, train_size=200, runner="ray", workers=1))
    assert not ray.is_initialized()  # the local instance it started is shut down
    assert [(r.params, r.value, r.epochs) for r in on_ray.trials] == [(r.params, r.value, r.epochs) for r in local.trials]
    assert on_ray.final["test_acc"] == local.final["test_acc"]


def test_regression_minimises_the_validation_loss_and_reports_the_test_loss(tmp_path):
    summary = run_tune(_config(tmp_path, dataset="diabetes", trials=3, epochs=3, train_size=200, pruner="none"))
    assert summary.metric == "val_loss"
    study = _load_study(_config(tmp_path, dataset="diabetes", epochs=3, train_size=200, pruner="none"))
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    assert summary.best.value == min(r.value for r in summary.trials) == summary.final["val_loss"]
    assert summary.final["test_acc"] is None
    assert tune_mod.best_lines(summary)[-1] == (
        f"Test loss of the best setting, measured once after the search: {summary.final['test_loss']:.4g}.")
    assert "| trial | state | weight_decay | val loss | train loss | epochs | seconds |" in summary.markdown_path.read_text()


def test_a_failed_trial_is_recorded_with_its_reason_and_retried_next_time(tmp_path, monkeypatch):
    from reglab.experiments import execute

    real = execute.train
    monkeypatch.setattr(execute, "train", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("out of memory\nmore")))
    summary = run_tune(_config(tmp_path, trials=1, epochs=2, train_size=200))
    assert [(r.number, r.state, r.baseline, r.error) for r in summary.trials] == [
        (0, "failed", True, "RuntimeError: out of memory")]
    assert (summary.ran, summary.failed, summary.best, summary.final) == (1, 1, None, None)
    assert tune_mod.best_lines(summary) == ["No trial completed, so there is no best setting yet."]
    monkeypatch.setattr(execute, "train", real)
    again = run_tune(_config(tmp_path, trials=1, epochs=2, train_size=200))
    assert [(r.number, r.state, r.baseline) for r in again.trials] == [(0, "failed", True), (1, "complete", True)]
    assert again.best.number == 1
