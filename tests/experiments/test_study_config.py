"""Study/sweep configs: defaults, TOML round trip, override precedence, one-line errors."""

from __future__ import annotations

import pytest

from reglab.errors import ConfigError
from reglab.experiments.config import (
    DEFAULT_EPOCHS,
    StudyConfig,
    SweepConfig,
    load_config,
    parse_value,
    resolve_field,
    to_toml,
)


def test_defaults_are_the_default_study():
    cfg = load_config("study")
    assert isinstance(cfg, StudyConfig)
    assert cfg.arms == ["baseline", "dropout", "weight_decay", "early_stopping", "augment", "stack"]
    assert (cfg.seeds, cfg.epochs, cfg.batch_size) == (3, DEFAULT_EPOCHS, 100)
    assert (cfg.data.name, cfg.model.name, cfg.optimizer.name, cfg.optimizer.lr) == ("mnist1d", "mlp", "adamw", 1e-2)
    assert cfg.seed_list == [0, 1, 2]
    assert str(cfg.out_dir()) == "reglab-out/default"


def test_toml_round_trip(tmp_path):
    cfg = load_config(
        "sweep",
        overrides={"epochs": 7, "name": "s1", "train_size": 500},
        sets=["early_stopping.patience=4", "model.width=64", "lr=0.003"],
        grid=["dropout=0,0.5", "model.options.depth=1,2"],
    )
    path = tmp_path / "c.toml"
    path.write_text(to_toml(cfg))
    again = load_config("sweep", path=path)
    assert again == cfg
    assert again.grid == {"dropout": [0, 0.5], "model.options.depth": [1, 2]}
    assert again.regularization.early_stopping.patience == 4
    assert again.model.options == {"width": 64}


def test_precedence_file_then_flags_then_set(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('epochs = 5\nseeds = 2\n[regularization]\ndropout = 0.1\n[optimizer]\nlr = 0.5\n')
    cfg = load_config("study", path=path, overrides={"epochs": 9, "lr": None}, sets=["dropout=0.3"])
    assert (cfg.epochs, cfg.seeds, cfg.regularization.dropout, cfg.optimizer.lr) == (9, 2, 0.3, 0.5)


def test_resolve_field_short_and_dotted():
    assert resolve_field("dropout") == ("regularization", "dropout")
    assert resolve_field("lr") == ("optimizer", "lr")
    assert resolve_field("dataset") == ("data", "name")
    assert resolve_field("early_stopping.patience") == ("regularization", "early_stopping", "patience")
    assert resolve_field("model.width") == ("model", "options", "width")
    assert resolve_field("data.noise") == ("data", "options", "noise")
    assert resolve_field("regularization.max_norm") == ("regularization", "max_norm")
    assert resolve_field("seeds", root="config") == ("seeds",)


def test_parse_value():
    assert [parse_value(v) for v in ("1", "1e-3", "0.5", "true", "None", "mlp")] == [1, 1e-3, 0.5, True, None, "mlp"]


def test_early_stopping_switch():
    assert load_config("study", sets=["early_stopping=on"]).regularization.early_stopping.patience == 10
    assert load_config("study", sets=["early_stopping=7"]).regularization.early_stopping.patience == 7
    assert load_config("study", sets=["early_stopping=off"]).regularization.early_stopping is None


ALLOWED_SET = (
    "a field among 'augment', 'batch_size', 'cutmix_alpha', 'data_seed', 'dataset', 'distillation', 'drop_path', "
    "'dropout', 'early_stopping', 'epochs', 'grad_clip', 'input_noise', 'l1', 'l2', 'label_noise', "
    "'label_smoothing', 'loss', 'lr', 'lr_gamma', 'lr_schedule', 'lr_step_size', 'max_norm', 'mixup_alpha', 'model', 'momentum', 'optimizer', 'train_size', "
    "'val_fraction', 'warmup_epochs', 'weight_decay', 'arms', 'first_seed', 'masks', 'name', 'out', 'ray_address', 'runner', 'seeds', 'workers' or "
    "a dotted path such as 'early_stopping.patience' or 'model.options.width'"
)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"overrides": {"epochs": 0}}, "Invalid value for argument `epochs`. Expected an integer >= 1. Received: epochs=0"),
        ({"sets": ["dropout=1.5"]},
         "Invalid value for argument `regularization.dropout`. Expected a number in [0, 1). "
         "Received: regularization.dropout=1.5"),
        ({"sets": ["weight_decay=-1"]},
         "Invalid value for argument `regularization.weight_decay`. Expected a number in [0, inf). "
         "Received: regularization.weight_decay=-1"),
        ({"sets": ["max_norm=0"]},
         "Invalid value for argument `regularization.max_norm`. Expected a number in (0, inf) (or none). "
         "Received: regularization.max_norm=0"),
        ({"sets": ["optimizer=sgdd"]},
         "Invalid value for argument `optimizer.name`. Expected one of 'adamw', 'adam', 'sgd'. "
         "Received: optimizer.name='sgdd'"),
        ({"sets": ["lr=fast"]},
         "Invalid value for argument `optimizer.lr`. Expected a number in (0, inf). Received: optimizer.lr='fast'"),
        ({"sets": ["dropuot=0.1"]}, f"Invalid value for argument `--set`. Expected {ALLOWED_SET}. Received: --set='dropuot'"),
        ({"sets": ["dropout"]}, "Invalid value for argument `--set`. Expected field=value. Received: --set='dropout'"),
        ({"sets": ["name=a b"]},
         "Invalid value for argument `name`. Expected letters, digits, '_', '-' or '.', starting with a letter "
         "or digit. Received: name='a b'"),
        ({"overrides": {"arms": ["baseline", "baseline"]}},
         "Invalid value for argument `arms`. Expected each arm once. Received: arms='baseline'"),
        ({"overrides": {"arms": []}},
         "Invalid value for argument `arms`. Expected a list with at least 1 item. Received: arms=[]"),
    ],
)
def test_study_errors(kwargs, message):
    with pytest.raises(ConfigError) as exc:
        load_config("study", **kwargs)
    assert str(exc.value) == message


def test_unknown_field_in_toml(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[regularization]\ndropuot = 0.1\n")
    with pytest.raises(ConfigError) as exc:
        load_config("study", path=path)
    assert str(exc.value) == (
        "Unknown field `regularization.dropuot`. Expected one of 'dropout', 'drop_path', 'weight_decay', "
        "'l1', 'l2', 'label_smoothing', 'augment', 'mixup_alpha', 'cutmix_alpha', 'input_noise', 'max_norm', "
        "'grad_clip', 'early_stopping', 'distillation', 'custom' in regularization. Received: regularization.dropuot=0.1"
    )


def test_bad_toml_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("epochs = = 3\n")
    with pytest.raises(ConfigError) as exc:
        load_config("study", path=path)
    assert str(exc.value) == (
        f"Cannot parse the config file {str(path)!r}. Expected valid TOML. "
        "Received: Invalid value (at line 1, column 10)"
    )
    with pytest.raises(ConfigError) as exc:
        load_config("study", path=tmp_path / "missing.toml")
    assert str(exc.value) == (
        f"Cannot read the config file {str(tmp_path / 'missing.toml')!r}. Expected an existing TOML file. "
        "Received: a path that does not exist"
    )


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (["dropout="], "Invalid value for argument `--grid`. Expected field=v1,v2,... with at least one value "
                       "and no empty value. Received: --grid='dropout='"),
        (["dropout=0.1,,0.2"], "Invalid value for argument `--grid`. Expected field=v1,v2,... with at least one "
                               "value and no empty value. Received: --grid='dropout=0.1,,0.2'"),
        (["dropout=0.1,0.1"], "Invalid value for argument `grid`. Expected distinct values for 'dropout'. "
                              "Received: dropout=0.1 twice"),
        (["dropout=0.1,2"], "Invalid value for argument `regularization.dropout`. Expected a number in [0, 1). "
                            "Received: regularization.dropout=2"),
        (["seed=1,2"], "Invalid value for argument `--grid`. Expected a run field other than 'seed' and 'arm' "
                       "(every grid point runs with every seed: use --seeds). Received: --grid='seed'"),
        (["dropout=0.1", "dropout=0.2"], "Invalid value for argument `--grid`. Expected each field once, "
                                         "'dropout' is repeated. Received: --grid='dropout=0.2'"),
        ([], "Invalid value for argument `--grid`. Expected at least one --grid field=v1,v2,... (or a [grid] "
             "table). Received: no grid"),
    ],
)
def test_sweep_errors(grid, message):
    with pytest.raises(ConfigError) as exc:
        load_config("sweep", grid=grid)
    assert str(exc.value) == message


def test_sweep_grid_from_toml_nested_keys(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[grid]\ndropout = [0.0, 0.5]\nearly_stopping.patience = [3, 6]\n')
    cfg = load_config("sweep", path=path)
    assert isinstance(cfg, SweepConfig)
    assert cfg.grid == {"dropout": [0.0, 0.5], "early_stopping.patience": [3, 6]}
    assert cfg.grid_points() == [
        {"dropout": 0.0, "early_stopping.patience": 3},
        {"dropout": 0.0, "early_stopping.patience": 6},
        {"dropout": 0.5, "early_stopping.patience": 3},
        {"dropout": 0.5, "early_stopping.patience": 6},
    ]


def test_study_file_refused_by_sweep(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('kind = "study"\n')
    with pytest.raises(ConfigError) as exc:
        load_config("sweep", path=path, grid=["dropout=0.1"])
    assert str(exc.value) == "Invalid value for argument `kind`. Expected 'sweep' for `reglab sweep`. Received: kind='study'"
