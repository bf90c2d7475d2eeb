"""Scripted runs (StoredRun-like) for the report and CLI tests: no training, known numbers.

Loaded by path (``load()`` in tests/report/conftest.py and tests/cli/test_report.py) because the
test folders are not packages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from reglab.analysis import diagnose
from reglab.experiments.spec import RunSpec


@dataclass
class FakeRun:
    key: str
    spec: RunSpec
    status: str
    history: dict
    final: dict
    diagnosis: dict | None


def scripted_history(kind: str, epochs: int = 30, shift: float = 0.0) -> dict[str, Any]:
    """Curves of a known verdict: 'overfit', 'good' or 'under'."""
    ep = list(range(1, epochs + 1))
    if kind == "overfit":
        tl = [2.3 * math.exp(-e / 4) + 0.01 for e in ep]
        vl = [0.9 + 0.002 * (e - 10) ** 2 + shift for e in ep]
        ta = [min(1.0, 0.5 + 0.02 * e) for e in ep]
        va = [0.62 + shift - 0.002 * abs(e - 10) for e in ep]
    elif kind == "good":
        tl = [0.3 + 2.0 * math.exp(-e / 4) for e in ep]
        vl = [0.35 + shift + 2.0 * math.exp(-e / 4) for e in ep]
        ta = [0.9 - 0.5 * math.exp(-e / 4) for e in ep]
        va = [0.88 + shift - 0.5 * math.exp(-e / 4) for e in ep]
    else:
        tl = [1.9 + 0.4 * math.exp(-e / 4) for e in ep]
        vl = [1.92 + shift + 0.4 * math.exp(-e / 4) for e in ep]
        ta = [0.35 for _ in ep]
        va = [0.34 + shift for _ in ep]
    return {"epoch": ep, "train_loss": tl, "train_acc": ta, "val_loss": vl, "val_acc": va,
            "lr": [0.01] * epochs,
            "grad_norm_mean": [1.0] * epochs, "grad_norm_max": [2.0] * epochs,
            "seconds": [0.1] * epochs, "best_epoch": None, "stopped_epoch": epochs,
            "stop_reason": "completed"}


def make_run(arm: str, seed: int, test_acc: float, kind: str = "overfit", *,
             weight_hist: dict | None = None, **reg: Any) -> FakeRun:
    spec = RunSpec.from_dict({"arm": arm, "seed": seed, "epochs": 30, "regularization": reg})
    h = scripted_history(kind, shift=0.001 * seed)
    final = {"test_acc": test_acc, "test_loss": 1.0, "train_acc": h["train_acc"][-1],
             "train_loss": h["train_loss"][-1], "val_acc": h["val_acc"][-1],
             "val_loss": h["val_loss"][-1], "best_epoch": 10,
             "num_classes": 10, "n_params": 15210, "n_train": 3200}
    if weight_hist is not None:
        final["weight_hist"] = weight_hist
    return FakeRun(spec.key(), spec, "done", h, final, diagnose(h, num_classes=10).to_dict())


def hist(near_zero: float, width: float) -> dict[str, Any]:
    """A synthetic weight histogram: a spike of `near_zero` mass at 0 plus a bell of `width`."""
    edges = [-1.0 + 2.0 * i / 40 for i in range(41)]
    counts = []
    for a, b in zip(edges[:-1], edges[1:]):
        mid = (a + b) / 2
        c = 1000 * math.exp(-0.5 * (mid / width) ** 2)
        if a <= 0 < b or a < 0 <= b:
            c += 1000 * 40 * near_zero
        counts.append(int(c))
    return {"edges": edges, "counts": counts, "n": sum(counts), "near_zero": near_zero,
            "abs_mean": width * 0.8, "l2_norm": width * 10}


def build_study_runs() -> list[FakeRun]:
    """A study with a baseline, a dropout ablation, a weight-decay sweep and an L1 arm (3 seeds)."""
    runs = []
    table = [
        ("baseline", {}, [0.660, 0.670, 0.650], "overfit", hist(0.01, 0.3)),
        ("dropout=0.1", {"dropout": 0.1}, [0.680, 0.690, 0.670], "overfit", None),
        ("dropout=0.3", {"dropout": 0.3}, [0.700, 0.710, 0.705], "good", None),
        ("weight_decay=0.01", {"weight_decay": 0.01}, [0.672, 0.668, 0.664], "overfit", None),
        ("weight_decay=0.1", {"weight_decay": 0.1}, [0.690, 0.698, 0.694], "good", hist(0.02, 0.1)),
        ("l1=0.0001", {"l1": 0.0001}, [0.664, 0.657, 0.661], "overfit", hist(0.4, 0.2)),
    ]
    for arm, reg, accs, kind, wh in table:
        for seed, acc in enumerate(accs):
            runs.append(make_run(arm, seed, acc, kind, weight_hist=wh, **reg))
    return runs


def write_store(path, runs, study: str = "demo") -> None:
    """Write ``runs`` into a real RunStore at ``path`` (as ``run_study`` would)."""
    from types import SimpleNamespace

    from reglab.experiments.store import RunStore

    with RunStore(path) as store:
        for r in runs:
            result = SimpleNamespace(spec=r.spec, history=r.history, final=r.final, seconds=1.0)
            store.add_result(study, result, r.diagnosis)
