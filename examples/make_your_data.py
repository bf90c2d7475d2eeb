"""Write ``examples/your_data.npz``: MNIST-1D signals as plain arrays, for ``--data your_data.npz``.

The arrays a user's own data would have: ``x_train`` (2000, 40) float32, ``y_train`` (2000,)
int64, ``x_test`` (1000, 40), ``y_test`` (1000,); reglab carves the validation split out of the
training set. Built offline from ``reglab.data.load("mnist1d")`` (the authors' generator).
Run from the repository root: ``python examples/make_your_data.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reglab.data import load

N_TRAIN, N_TEST = 2000, 1000


def main() -> Path:
    splits = load("mnist1d", seed=0, val_fraction=0.0)
    out = Path(__file__).with_name("your_data.npz")
    np.savez_compressed(
        out,
        x_train=splits.x_train[:N_TRAIN].numpy().astype(np.float32),
        y_train=splits.y_train[:N_TRAIN].numpy().astype(np.int64),
        x_test=splits.x_test[:N_TEST].numpy().astype(np.float32),
        y_test=splits.y_test[:N_TEST].numpy().astype(np.int64),
    )
    return out


if __name__ == "__main__":
    path = main()
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)")
