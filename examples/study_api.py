"""A study from Python: does dropout still help when 20% of the training labels are wrong?

Runs 4 arms x 3 seeds on MNIST-1D with the MLP (the vectorized runner trains them as one batched
model), writes reglab-out/noisy-labels/report.html, then reads the runs back from the SQLite store.
The same study from the shell:

    reglab study --name noisy-labels --label-noise 0.2 --epochs 60 \\
        --arms baseline,dropout,dropout=0.5,weight_decay

Run it again and it resumes: completed runs are skipped.
"""

from __future__ import annotations

import torch

from reglab.analysis import mean_ci
from reglab.experiments import RunStore, load_config
from reglab.studies import run_study

torch.set_num_threads(1)  # one thread per process: small models are overhead-bound

config = load_config(
    "study",
    overrides={
        "name": "noisy-labels",
        "epochs": 60,
        "seeds": 3,
        "label_noise": 0.2,
        "arms": ["baseline", "dropout", "dropout=0.5", "weight_decay"],
    },
)
summary = run_study(config)
print(f"{summary.completed} runs trained, {summary.skipped} already done; report: {summary.report.html_path}")

with RunStore(summary.store_path) as store:
    runs = store.runs(config.name)
by_arm: dict[str, list[float]] = {}
for run in runs:
    by_arm.setdefault(run.arm, []).append(run.final["test_acc"])
for arm, accs in by_arm.items():
    mean, low, high = mean_ci(accs)
    print(f"{arm:>14}: test accuracy {100 * mean:.1f}% (95% CI {100 * low:.1f} to {100 * high:.1f}, {len(accs)} seeds)")
