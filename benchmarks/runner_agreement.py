"""How far the vectorized runner's numbers are from single runs, and from themselves in another group.

For a few MNIST-1D MLP specs (one seed, several regularizers), trains each spec
(a) alone with ``run_one`` (what ``--runner processes`` does),
(b) in one batched group of all specs with ``run_vectorized(masks="exact")`` (an uninterrupted study),
(c) in a smaller group (the first spec with only one other: what a resumed study whose group
    changed trains),
and prints, per spec and number of epochs, the largest differences in final test accuracy
(percentage points) and validation loss. Identical masks and batches are used in all three;
differences come from float rounding of batched vs single matrix products, amplified by training.

    PYTHONPATH=src python benchmarks/runner_agreement.py --epochs 10 150
"""

from __future__ import annotations

import argparse

import torch

from reglab.experiments.execute import run_one
from reglab.experiments.spec import RunSpec
from reglab.experiments.vectorized import run_vectorized


def specs(epochs: int) -> list[RunSpec]:
    regs = [{}, {"dropout": 0.2}, {"weight_decay": 0.05}, {"dropout": 0.1, "label_smoothing": 0.1}]
    return [RunSpec.model_validate({"arm": f"arm{i}", "seed": 0, "epochs": epochs, "batch_size": 100,
                                    "data": {"train_size": 1000}, "regularization": reg})
            for i, reg in enumerate(regs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, nargs="+", default=[10, 150])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| epochs | spec | test acc alone | batched - alone (pts) | val loss batched - alone | "
          "small group - full group (pts) | val loss small - full |")
    print("|---|---|---|---|---|---|---|")
    for epochs in args.epochs:
        plan = specs(epochs)
        alone = [run_one(s) for s in plan]
        full = run_vectorized(plan, masks="exact")
        small = run_vectorized(plan[:2], masks="exact")
        for i, spec in enumerate(plan):
            a, f = alone[i].final, full[i].final
            row = [str(epochs), spec.arm, f"{100 * a['test_acc']:.1f}",
                   f"{100 * (f['test_acc'] - a['test_acc']):+.1f}", f"{f['val_loss'] - a['val_loss']:+.2e}"]
            if i < 2:
                s = small[i].final
                row += [f"{100 * (s['test_acc'] - f['test_acc']):+.1f}", f"{s['val_loss'] - f['val_loss']:+.2e}"]
            else:
                row += ["", ""]
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
