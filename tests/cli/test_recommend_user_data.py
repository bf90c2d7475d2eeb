"""`reglab recommend --from-store` on a study of the user's own data reads the modality from the
data's input shape (as for built-in sets), not from the model family's default."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from reglab.analysis.recommend import modality_of_shape
from reglab.cli import app


def test_modality_of_shape():
    assert [modality_of_shape(s) for s in [(3, 8, 8), (40,), (1, 40), (5,), (2, 10)]] == [
        "image", "signal", "signal", "tabular", "tabular"]


def test_recommend_from_a_store_of_signals_in_an_npz(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 40)).astype(np.float32)
    np.savez(tmp_path / "sig.npz", x_train=x, y_train=np.arange(60) % 3)
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(app, ["study", "--data", str(tmp_path / "sig.npz"), "--arms", "baseline", "--epochs", "1",
                                 "--seeds", "1", "--runner", "processes", "--workers", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["recommend", "--from-store", str(out / "runs.sqlite"), "--family", "cnn"])
    assert result.exit_code == 0, result.output
    assert "Strategy (CNN on signals; " in result.stdout
