"""Plans: exact arms, seeds, values and order for studies and sweeps."""

from __future__ import annotations

import itertools

import pytest

from reglab.errors import ConfigError
from reglab.experiments.config import DEFAULT_EPOCHS, load_config
from reglab.experiments.plan import grid_arm_name, plan
from reglab.experiments.spec import RunSpec
from reglab.techniques import ALL_ARMS, TECHNIQUES


def test_default_study_plan():
    specs = plan(load_config("study"))
    arms = ["baseline", "dropout", "weight_decay", "early_stopping", "augment", "stack"]
    assert [(s.arm, s.seed) for s in specs] == [(a, seed) for seed in (0, 1, 2) for a in arms]
    by_arm = {s.arm: s.regularization for s in specs if s.seed == 0}
    assert by_arm["baseline"] == type(by_arm["baseline"])()  # all defaults: no regularization
    assert by_arm["dropout"].dropout == 0.2 and by_arm["dropout"].weight_decay == 0.0
    assert by_arm["weight_decay"].weight_decay == 0.1 and by_arm["weight_decay"].dropout == 0.0
    assert by_arm["early_stopping"].early_stopping.patience == 20
    assert (by_arm["early_stopping"].early_stopping.monitor, by_arm["early_stopping"].early_stopping.mode) == ("val_acc", "max")
    assert by_arm["early_stopping"].early_stopping.restore_best is True
    stack = by_arm["stack"]
    # MNIST-1D has an augmentation policy: the stack augments and mixes instead of dropping out
    assert (stack.dropout, stack.weight_decay, stack.early_stopping.patience, stack.drop_path) == (0.0, 0.05, 20, 0.0)
    assert (stack.augment, stack.mixup_alpha) == ("auto", 0.2)
    assert by_arm["augment"].augment == "auto"
    assert by_arm["baseline"].augment == "none"
    assert len({s.key() for s in specs}) == 18
    assert all(s.epochs == DEFAULT_EPOCHS and s.batch_size == 100 and s.data.name == "mnist1d" for s in specs)


def test_arm_values_and_base_regularization():
    cfg = load_config("study", overrides={"arms": ["baseline", "dropout=0.5", "early_stopping=3"], "seeds": 2},
                      sets=["label_smoothing=0.1", "first_seed=10"])
    specs = plan(cfg)
    assert [(s.arm, s.seed) for s in specs] == [
        ("baseline", 10), ("dropout=0.5", 10), ("early_stopping=3", 10),
        ("baseline", 11), ("dropout=0.5", 11), ("early_stopping=3", 11),
    ]
    assert [s.regularization.label_smoothing for s in specs] == [0.1] * 6  # the base applies to every arm
    assert specs[1].regularization.dropout == 0.5
    assert specs[2].regularization.early_stopping.patience == 3


def test_all_arms_on_mlp_and_resnet():
    mlp = plan(load_config("study", overrides={"arms": ["all"], "seeds": 1}))
    assert [s.arm for s in mlp] == [a for a in ALL_ARMS if a != "drop_path"]
    res = plan(load_config("study", overrides={"arms": ["all"], "seeds": 1, "model": "resnet", "dataset": "digits"}))
    assert [s.arm for s in res] == list(ALL_ARMS)
    stack = next(s for s in res if s.arm == "stack").regularization
    # digits are images: the stack augments (crop + rotation) and mixes instead of dropping out
    assert (stack.drop_path, stack.dropout, stack.weight_decay) == (0.1, 0.0, 0.05)
    assert (stack.augment, stack.mixup_alpha) == ("auto", 0.2)
    values = {s.arm: s.regularization for s in res}
    assert values["mixup"].mixup_alpha == 0.2
    assert values["label_smoothing"].label_smoothing == 0.1
    assert values["input_noise"].input_noise == 0.1
    assert values["max_norm"].max_norm == 3.0
    assert values["l1"].l1 == 1e-4
    assert values["drop_path"].drop_path == 0.1


def test_drop_path_needs_residual_model():
    with pytest.raises(ConfigError) as exc:
        plan(load_config("study", overrides={"arms": ["drop_path"]}))
    assert str(exc.value) == (
        "Invalid value for argument `arms`. Expected a model with residual blocks ('resnet', 'transformer') "
        "for 'drop_path'. Received: model='mlp'"
    )


def test_arm_value_errors():
    with pytest.raises(ConfigError) as exc:
        load_config("study", overrides={"arms": ["stack=1"]})
    assert str(exc.value) == "Invalid value for argument `arms`. Expected the technique 'stack' without a value. Received: arms='stack=1'"
    with pytest.raises(ConfigError) as exc:
        plan(load_config("study", overrides={"arms": ["dropout=1.5"]}))
    assert str(exc.value) == (
        "Invalid value for argument `arms`. Expected a finite number in [0, 1) after 'dropout='. "
        "Received: arms='dropout=1.5'"
    )
    with pytest.raises(ConfigError) as exc:
        load_config("study", overrides={"arms": ["dropot"]})
    assert str(exc.value) == (
        "Invalid value for argument `arms`. Expected technique names among "
        + ", ".join(repr(t) for t in TECHNIQUES) + " or 'all'. Received: arms='dropot'"
    )


def test_sweep_grid_crossing_exact():
    dropouts = [0, 0.25, 0.5, 0.75]
    decays = [0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
    cfg = load_config("sweep", grid=["dropout=0,0.25,0.5,0.75", "weight_decay=0,1e-5,1e-4,1e-3,1e-2,1e-1"],
                      overrides={"seeds": 2})
    specs = plan(cfg)
    assert len(specs) == 4 * 6 * 2
    expected = [(seed, d, w) for seed in (0, 1) for d, w in itertools.product(dropouts, decays)]
    got = [(s.seed, s.regularization.dropout, s.regularization.weight_decay) for s in specs]
    assert got == expected
    assert specs[7].arm == "dropout=0.25,weight_decay=1e-05"
    assert len({s.key() for s in specs}) == 48
    assert all(s.regularization.early_stopping is None for s in specs)


def test_sweep_over_nested_and_model_fields():
    cfg = load_config("sweep", grid=["early_stopping.patience=2,5", "model.width=32,64", "lr=0.01,0.001"],
                      overrides={"seeds": 1})
    specs = plan(cfg)
    assert len(specs) == 8
    assert [(s.regularization.early_stopping.patience, s.model.options["width"], s.optimizer.lr) for s in specs] == [
        (p, w, lr) for p in (2, 5) for w in (32, 64) for lr in (0.01, 0.001)
    ]


def test_grid_arm_name():
    assert grid_arm_name({"dropout": 0.5, "weight_decay": 1e-05, "model.width": 64}) == (
        "dropout=0.5,weight_decay=1e-05,model.width=64"
    )


def test_distillation_arms():
    cfg = load_config("study", overrides={"arms": ["distillation", "ensemble_distillation", "self_distillation=2"],
                                          "seeds": 1})
    reg = {s.arm: s.regularization.distillation for s in plan(cfg)}
    assert reg["distillation"].teacher.options == {"width": 512, "dropout": 0.3}
    assert (reg["distillation"].temperature, reg["distillation"].teachers) == (4.0, 1)
    assert (reg["ensemble_distillation"].teachers, reg["ensemble_distillation"].temperature) == (3, 4.0)
    assert reg["ensemble_distillation"].teacher == reg["distillation"].teacher
    assert (reg["self_distillation=2"].teacher, reg["self_distillation=2"].temperature) == (None, 2.0)


def test_augment_in_arms_grids_and_toml(tmp_path):
    specs = plan(load_config("study", overrides={"arms": ["baseline", "augment", "augment=shift"], "seeds": 1}))
    assert [s.regularization.augment for s in specs] == ["none", "auto", "shift"]
    sweep = plan(load_config("sweep", grid=["augment=shift,none"], overrides={"seeds": 1}))
    assert [(s.arm, s.regularization.augment) for s in sweep] == [("augment=shift", "shift"), ("augment=None", "none")]  # none parses as None, as for max_norm
    toml = tmp_path / "study.toml"
    toml.write_text('arms = ["baseline", "stack"]\nseeds = 1\n[regularization]\naugment = "shift"\n')
    from_toml = plan(load_config("study", path=toml))
    assert [s.regularization.augment for s in from_toml] == ["shift", "auto"]


def test_default_arms_skip_augment_on_tabular_data_and_the_stack_has_none_there():
    specs = plan(load_config("study", overrides={"seeds": 1}, sets=["dataset=wine"]))
    assert [s.arm for s in specs] == ["baseline", "dropout", "weight_decay", "early_stopping", "stack"]
    assert all(s.regularization.augment == "none" for s in specs)
    stack = specs[-1].regularization
    assert (stack.dropout, stack.weight_decay, stack.mixup_alpha) == (0.2, 0.05, 0.0)


def test_a_spec_without_augmentation_keeps_its_key_from_before_the_field():
    spec = RunSpec(arm="dropout", seed=4)
    assert "augment" not in spec.to_dict()["regularization"]
    assert RunSpec.from_dict(spec.to_dict()) == spec
    shifted = RunSpec(arm="a", regularization={"augment": "shift"})
    assert shifted.to_dict()["regularization"]["augment"] == "shift" and shifted.key() != RunSpec(arm="a").key()


def test_a_label_changing_policy_is_refused_when_planning():
    with pytest.raises(ConfigError) as err:
        plan(load_config("study", overrides={"arms": ["baseline", "augment=crop_flip"], "seeds": 2},
                         sets=["dataset=mnist5k", "model=cnn2d"]))
    assert str(err.value) == (
        "Invalid value for argument `augment`. Expected a label-preserving policy for 'mnist5k': a horizontal "
        "flip can change its labels (use 'crop_rotate', or allow_label_change=True to force it). "
        "Received: augment='crop_flip'"
    )
    with pytest.raises(ConfigError) as err:
        plan(load_config("sweep", grid=["augment=shift,none"], overrides={"seeds": 1}, sets=["dataset=wine"]))
    assert str(err.value) == (
        "Invalid value for argument `augment`. Expected 'none' for 'wine' (tabular features have no "
        "augmentation policy). Received: augment='shift'"
    )
