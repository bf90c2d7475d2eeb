"""The user's own data at the CLI: ``reglab datasets --inspect``, ``reglab study --data`` on a CSV,
an image folder and a ``module:loader``, TOML ``[data]`` keys, bad input as one red line."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from reglab.cli import app
from reglab.experiments.config import load_config
from reglab.experiments.store import RunStore

PIL = pytest.importorskip("PIL.Image")
runner = CliRunner()
TINY = ["--epochs", "2", "--seeds", "1", "--batch-size", "16", "--arms", "baseline,dropout", "--quiet",
        "--runner", "processes", "--workers", "1"]


def _fails(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Error: {message}\n"


def _csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    lines = ["height,colour,label"]
    for i in range(50):
        colour = ("red", "blue")[i % 2]
        height = "" if i == 7 else f"{rng.normal() + (i % 3):.3f}"
        lines.append(f"{height},{colour},{('a', 'b', 'c')[i % 3]}")
    path = tmp_path / "plants.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _stored(out: Path, study: str = "default") -> list[tuple[str, int, int]]:
    with RunStore(out / "runs.sqlite") as store:
        return sorted((r.arm, r.final["num_classes"], r.final["n_train"]) for r in store.runs(study))


def test_inspect_prints_what_reglab_reads(tmp_path):
    path = _csv(tmp_path)
    result = runner.invoke(app, ["datasets", "--inspect", str(path), "--target", "label"])
    assert result.exit_code == 0, result.output
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[0] == str(path)
    # 49 complete rows (a 17, b 16, c 16); test 10 held out (4 / 3 / 3), validation 8 of the 39 left
    # (3 / 3 / 2: quotas 2.67 each, the remainder to the lower indices), 31 trained on
    assert lines[1] == "task: classification   input shape: (3,)   train / val / test: 31 / 8 / 10"
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    assert rows == [["0", "a", "10", "3", "4"], ["1", "b", "10", "3", "3"], ["2", "c", "11", "2", "3"]]
    assert [line for line in lines if line.startswith("- ")] == [
        "- read 50 rows and 3 columns from plants.csv; target column 'label'.",
        "- dropped 1 of 50 rows with missing values (data rows 7, counted from 0).",
        "- one-hot encoded 1 categorical column: 'colour' (2 values); 3 feature columns in all.",
        "- task: classification, detected from the text labels (task='regression' overrides).",
        "- labels: 3 classes remapped to 0..2 in sorted order (a->0, b->1, c->2).",
        "- test: no test split given; 10 of 49 training samples (0.2) held out as a fixed test set, stratified by "
        "class (seed 20141, the same for every run seed).",
        "- validation: 8 of the 39 training samples (0.2), stratified by class, drawn with data seed 0.",
    ]
    _fails(["datasets", "--inspect", str(path), "--target", "kind"],
           "Invalid value for argument `target`. Expected a column of plants.csv: 'height', 'colour', 'label'. "
           "Received: target='kind'")


def test_inspect_regression_target(tmp_path):
    path = tmp_path / "r.npz"
    x = np.linspace(0, 1, 40).reshape(20, 2)
    np.savez(path, x_train=x, y_train=x[:, 0] * 10 + 0.5)
    result = runner.invoke(app, ["datasets", "--inspect", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == "task: regression   input shape: (2,)   train / val / test: 13 / 3 / 4"
    assert "training target: min " in result.stdout


def test_study_on_a_csv(tmp_path):
    path = _csv(tmp_path)
    out = tmp_path / "o"
    loud = [a for a in TINY if a != "--quiet"]
    result = runner.invoke(app, ["study", *loud, "--data", str(path), "--target", "label", "--out", str(out)])
    assert result.exit_code == 0, result.output
    # what was read is said before training, one line per note
    lines = result.stdout.splitlines()
    assert lines[2:4] == [
        "Data: one-hot encoded 1 categorical column: 'colour' (2 values); 3 feature columns in all.",
        "Data: task: classification, detected from the text labels (task='regression' overrides).",
    ], lines[:8]
    assert _stored(out) == [("baseline", 3, 31), ("dropout", 3, 31)]
    with RunStore(out / "runs.sqlite") as store:
        spec = store.runs("default")[0].spec
    assert spec.data.name == str(path) and spec.data.options == {"target": "label"}
    # the report says how the data was read and split
    setup = (out / "report.md").read_text().splitlines()[2]
    assert setup.endswith(
        "Data: Read 50 rows and 3 columns from plants.csv; target column 'label'. Dropped 1 of 50 rows with "
        "missing values (data rows 7, counted from 0). One-hot encoded 1 categorical column: 'colour' (2 values); "
        "3 feature columns in all. Task: classification, detected from the text labels (task='regression' "
        "overrides). Labels: 3 classes remapped to 0..2 in sorted order (a->0, b->1, c->2). Test: no test split "
        "given; 10 of 49 training samples (0.2) held out as a fixed test set, stratified by class (seed 20141, the "
        "same for every run seed). Validation: 8 of the 39 training samples (0.2), stratified by class, drawn "
        "with data seed 0."), setup


def test_study_on_an_image_folder(tmp_path):
    rng = np.random.default_rng(1)
    for k, name in enumerate(("cat", "dog")):
        (tmp_path / "pets" / name).mkdir(parents=True)
        for i in range(12):
            pixels = rng.integers(0, 100, size=(9, 9, 3)).astype(np.uint8) + 100 * k
            PIL.fromarray(pixels, mode="RGB").save(tmp_path / "pets" / name / f"{i}.png")
    out = tmp_path / "o"
    result = runner.invoke(app, ["study", *TINY, "--data", str(tmp_path / "pets"), "--image-size", "8",
                                 "--model", "cnn2d", "--out", str(out)])
    assert result.exit_code == 0, result.output
    # 24 images: test 5 (0.2, rounded half up), validation 4 of 19, 15 trained on
    assert _stored(out) == [("baseline", 2, 15), ("dropout", 2, 15)]


def test_study_on_a_module_loader_from_the_cwd(tmp_path, monkeypatch):
    name = "loader_" + re.sub(r"\W", "_", tmp_path.name)
    (tmp_path / f"{name}.py").write_text(textwrap.dedent("""
        import numpy as np

        def load():
            rng = np.random.default_rng(0)
            x = rng.normal(size=(60, 4)).astype("float32")
            return (x[:40], (x[:40, 0] > 0).astype(int)), (x[40:], (x[40:, 0] > 0).astype(int))
    """))
    monkeypatch.chdir(tmp_path)  # found from the current directory, as `python -m` would
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, name, raising=False)
    out = tmp_path / "o"
    result = runner.invoke(app, ["study", *TINY, "--data", f"{name}:load", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert _stored(out) == [("baseline", 2, 32), ("dropout", 2, 32)]


def test_toml_data_table_takes_the_options_at_its_top(tmp_path, monkeypatch):
    path = _csv(tmp_path)
    monkeypatch.chdir(tmp_path)
    toml = tmp_path / "s.toml"
    toml.write_text('[data]\nname = "plants.csv"\ntarget = "label"\ntask = "classification"\n')
    cfg = load_config("study", path=toml)
    assert cfg.data.name == str(path)  # made absolute when the config is built
    assert cfg.data.options == {"target": "label", "task": "classification"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "missing/plants.csv"],
         "Invalid value for argument `data.name`. Expected an existing .npz, .csv or .parquet file or image "
         "folder. Received: data.name='missing/plants.csv' (no such file or folder: {cwd}/missing/plants.csv)"),
        (["--data", "plants.csv", "--target", "colour", "--task", "regression"],
         "Invalid value for argument `y_train`. Expected numeric targets for task='regression'. "
         "Received: y_train.dtype=object"),
        (["--data", "plants.csv", "--target", "kind"],
         "Invalid value for argument `target`. Expected a column of plants.csv: 'height', 'colour', 'label'. "
         "Received: target='kind'"),
        (["--data", "nan.npz"],
         "Invalid value for argument `x_train`. Expected finite feature values (no NaN or inf). Received: "
         "x_train holds 1 NaN and 0 inf values, the first in row 2"),
        (["--data", "short.npz"],
         "Invalid value for argument `y_train`. Expected one label per row of x_train (6 rows). Received: "
         "len(y_train)=5"),
        (["--data", "floats.npz", "--task", "classification"],
         "Invalid value for argument `y_train`. Expected integer class labels for task='classification'. "
         "Received: y_train holds non-integer values such as 0.5"),
        (["--data", "single"],
         "Invalid value for argument `data`. Expected an image folder with one sub-folder per class, at least 2. "
         "Received: {cwd}/single has 1 class sub-folder ('only')"),
        (["--data", "nomodule_abc:load"],
         "Invalid value for argument `data`. Expected an import string 'package.module:loader' whose module can "
         "be imported. Received: data='nomodule_abc:load' (ModuleNotFoundError: No module named 'nomodule_abc')"),
    ],
)
def test_bad_data_is_one_red_line_and_nothing_is_stored(tmp_path, monkeypatch, args, message):
    _csv(tmp_path)
    x = np.arange(12, dtype=float).reshape(6, 2)
    np.savez(tmp_path / "floats.npz", x_train=x, y_train=np.array([0.5, 1.0, 2.0, 0.0, 1.0, 2.0]))
    np.savez(tmp_path / "short.npz", x_train=x, y_train=np.arange(5) % 2)
    x[2, 0] = np.nan
    np.savez(tmp_path / "nan.npz", x_train=x, y_train=np.arange(6) % 2)
    (tmp_path / "single" / "only").mkdir(parents=True)
    PIL.fromarray(np.zeros((4, 4), dtype=np.uint8), mode="L").save(tmp_path / "single" / "only" / "a.png")
    monkeypatch.chdir(tmp_path)
    _fails(["study", *TINY, *args, "--out", str(tmp_path / "o")], message.format(cwd=tmp_path))
    assert not (tmp_path / "o").exists()
