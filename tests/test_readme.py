"""The README's Python examples run as written, in order, and print what the README says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run_and_print_the_documented_stop_reason(tmp_path, monkeypatch):
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert [b.splitlines()[0] for b in blocks] == [
        "import torch",
        "from reglab.techniques import get_technique",
        "from reglab.losses import label_smoothing_cross_entropy, DistillationLoss",
        "from reglab.augment import Pipeline, RandomShift, MixupCutmix, random_crop, random_deletion, resolve_policy",
        "import reglab.data, reglab.models",
        "from torch import nn",
        "from reglab.uncertainty import mc_predict, calibration_metrics",
    ]
    monkeypatch.chdir(tmp_path)  # ModelCheckpoint("ckpt") writes here
    out = io.StringIO()
    namespace: dict = {}
    from reglab.models import registered, unregister

    before = set(registered())
    try:
        with contextlib.redirect_stdout(out):
            exec(compile("\n".join(blocks), str(README), "exec"), namespace)
    finally:  # the README registers a model factory: keep it out of later tests
        for name in set(registered()) - before:
            unregister(name)
    documented = re.search(r"# (Stopped at epoch .*)\n", text).group(1)
    assert out.getvalue().strip() == documented
    assert (tmp_path / "ckpt" / "last" / "model.safetensors").exists()
    assert namespace["pred"].probs.shape == (1000, 10)
    t = namespace["t"]
    assert (t.name, t.field, t.default, t.acts_on, t.vectorized) == ("input_noise", "input_noise", 0.1, ("batch",), True)
    assert namespace["y_soft"].shape == (100, 10) and namespace["crops"].shape == (8, 1, 28, 28)
    assert namespace["kept"][0, 4:].tolist() == [0, 0]
    assert [type(t).__name__ for t in namespace["digits_policy"].transforms] == ["RandomCrop", "RandomAffine"]
