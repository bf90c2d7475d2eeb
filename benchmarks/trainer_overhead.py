"""Overhead of reglab's Trainer over a hand-written PyTorch loop (claim: median ratio <= 1.05).

The MNIST-1D MLP (40-100-100-10, Greydanus & Steinbach 2020) trained with Adam for a fixed
number of epochs, batch 100, once by a plain loop and once by ``Trainer`` with no callbacks, on
the same data in the same order (a fresh ``TensorLoader`` with the same seed for each run). Both
compute what a careful hand loop computes: the training loss and accuracy accumulated as tensors
and a validation pass per epoch; the Trainer also logs the gradient norm of every step. The two
runs of a repeat alternate their order; the script prints the median of the per-repeat time
ratios (and the ratio of the fastest runs, less sensitive to a busy machine) and checks that both
end with bit-identical weights (the same work was done).

Run: .venv/bin/python benchmarks/trainer_overhead.py [--epochs 5] [--repeats 7]
When ``lightning`` is importable, the same model is also trained by a Lightning module of the same
work (Lightning is not a reglab dependency; the time includes its ``fit`` setup).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from reglab.data import TensorLoader, load
from reglab.errors import DataUnavailableError
from reglab.training import Trainer


def mlp(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(40, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(), nn.Linear(100, 10))


def hand_loop(model: nn.Module, opt: torch.optim.Optimizer, train: TensorLoader, val: TensorLoader, epochs: int) -> list[tuple[float, ...]]:
    """The loop one would write by hand: tensor accumulators, one sync per epoch."""
    rows = []
    for _ in range(epochs):
        model.train()
        total, correct, n = torch.zeros(()), torch.zeros((), dtype=torch.long), 0
        for x, y in train:
            out = model(x)
            loss = F.cross_entropy(out, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * y.shape[0]
            correct += (out.argmax(1) == y).sum()
            n += y.shape[0]
        model.eval()
        v_total, v_correct, v_n = torch.zeros(()), torch.zeros((), dtype=torch.long), 0
        with torch.no_grad():
            for x, y in val:
                out = model(x)
                v_total += F.cross_entropy(out, y) * y.shape[0]
                v_correct += (out.argmax(1) == y).sum()
                v_n += y.shape[0]
        rows.append((total.item() / n, correct.item() / n, v_total.item() / v_n, v_correct.item() / v_n))
    return rows


def lightning_runner(epochs: int):
    """A Lightning equivalent (train loss/acc logged per epoch, a validation pass), or None."""
    try:
        import lightning as L
    except ImportError:
        return None
    import logging
    import warnings

    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")

    class Module(L.LightningModule):
        def __init__(self, net: nn.Module) -> None:
            super().__init__()
            self.net = net

        def training_step(self, batch, batch_idx):
            x, y = batch
            out = self.net(x)
            loss = F.cross_entropy(out, y)
            self.log("train_loss", loss, on_step=False, on_epoch=True)
            self.log("train_acc", (out.argmax(1) == y).float().mean(), on_step=False, on_epoch=True)
            return loss

        def validation_step(self, batch, batch_idx):
            x, y = batch
            out = self.net(x)
            self.log("val_loss", F.cross_entropy(out, y), on_epoch=True)
            self.log("val_acc", (out.argmax(1) == y).float().mean(), on_epoch=True)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-2)

    def run(net: nn.Module, train, val) -> float:
        trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False,
                            enable_checkpointing=False, enable_progress_bar=False,
                            enable_model_summary=False, num_sanity_val_steps=0)
        start = time.perf_counter()
        trainer.fit(Module(net), train, val)
        return time.perf_counter() - start

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    try:
        splits = load("mnist1d", seed=0)
        x_train, y_train, x_val, y_val = splits.x_train, splits.y_train, splits.x_val, splits.y_val
        name = "MNIST-1D"
    except (ImportError, DataUnavailableError):  # mnist1d missing: a same-size synthetic task
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(4000, 40, generator=gen)
        y = (x @ torch.randn(40, 10, generator=gen)).argmax(1)
        x_train, y_train, x_val, y_val = x[:3200], y[:3200], x[3200:], y[3200:]
        name = "synthetic MNIST-1D-sized task"
    print(f"{name}: {len(x_train)} train / {len(x_val)} val, MLP 40-100-100-10, Adam 1e-2, "
          f"batch 100, {args.epochs} epochs, {args.repeats} repeats, torch {torch.__version__}, 1 thread")

    def loaders() -> tuple[TensorLoader, TensorLoader]:
        gen = torch.Generator().manual_seed(0)
        return (TensorLoader(x_train, y_train, 100, shuffle=True, generator=gen),
                TensorLoader(x_val, y_val, 100))

    def run_hand() -> tuple[float, nn.Module]:
        model = mlp(0)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        train, val = loaders()
        start = time.perf_counter()
        hand_loop(model, opt, train, val, args.epochs)
        return time.perf_counter() - start, model

    def run_trainer() -> tuple[float, nn.Module]:
        model = mlp(0)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        train, val = loaders()
        trainer = Trainer(model, opt, None, train, val, epochs=args.epochs, progress=False)
        start = time.perf_counter()
        trainer.fit()
        return time.perf_counter() - start, model

    lightning = lightning_runner(args.epochs)
    lightning_times: list[float] = []
    run_hand(), run_trainer()  # warm-up (lazy imports, allocator)
    if lightning is not None:
        lightning(mlp(0), *loaders())
    ratios, hand_times, trainer_times = [], [], []
    same = True
    for repeat in range(args.repeats):
        if repeat % 2 == 0:
            (t_hand, m_hand), (t_tr, m_tr) = run_hand(), run_trainer()
        else:
            (t_tr, m_tr), (t_hand, m_hand) = run_trainer(), run_hand()
        same &= all(torch.equal(a, b) for a, b in zip(m_hand.state_dict().values(), m_tr.state_dict().values()))
        hand_times.append(t_hand)
        trainer_times.append(t_tr)
        ratios.append(t_tr / t_hand)
        extra = ""
        if lightning is not None:
            lightning_times.append(lightning(mlp(0), *loaders()))
            extra = f", Lightning {lightning_times[-1]:.3f} s"
        print(f"repeat {repeat + 1}: hand {t_hand:.3f} s, Trainer {t_tr:.3f} s, ratio {t_tr / t_hand:.3f}{extra}")
    print(f"median hand loop {statistics.median(hand_times):.3f} s, median Trainer {statistics.median(trainer_times):.3f} s")
    print(f"identical final weights: {same}")
    print(f"ratio of the fastest runs (min Trainer / min hand loop): {min(trainer_times) / min(hand_times):.3f}")
    print(f"median ratio Trainer / hand loop: {statistics.median(ratios):.3f} (target <= 1.05)")
    if lightning is None:
        print("Lightning: not installed, no comparison")
    else:
        print(f"median Lightning {statistics.median(lightning_times):.3f} s: "
              f"{statistics.median(lightning_times) / statistics.median(hand_times):.3f} x the hand loop")


if __name__ == "__main__":
    main()
