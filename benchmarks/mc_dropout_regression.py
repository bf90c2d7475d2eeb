"""MC dropout regression on UCI Boston housing: Gal & Ghahramani 2016's protocol, reglab's pieces.

Gal & Ghahramani 2016, "Dropout as a Bayesian Approximation", ICML (arXiv:1506.02142), Table 1:
Boston housing, RMSE 2.97 +- 0.85 and test log-likelihood -2.46 +- 0.25 (mean +- std. error over
20 random splits). Their protocol, reproduced here:

* random 90/10 train/test splits of the 506 houses (mlxtend ships the same data), seeded by split;
* inputs standardised with the training part's statistics; targets too (training only: every
  reported number is on the original scale, $1000s);
* one hidden layer of 50 ReLU units, dropout ``p`` on the input and on the hidden layer
  (``reglab.models.MLP(width=50, depth=1, dropout=p, input_dropout=p)``), MSE loss, Adam
  (lr 1e-3, batch 32), 400 epochs, no weight decay (the paper's prior term
  ``l^2 (1 - p) / (2 N tau)`` with ``l = 1e-2`` is below 1e-6 here);
* ``p`` from {0.005, 0.01, 0.05, 0.1} and the model precision ``tau`` chosen on a validation part
  (the last 20% of the shuffled training part): for each ``p`` a model trained on the other 80%,
  ``tau`` by ``reglab.uncertainty.choose_tau`` on its MC predictions, the pair with the best
  validation log-likelihood wins; then the chosen ``p`` is retrained on the whole training part
  and scored on the test part with that ``tau``;
* ``T`` MC dropout passes (default 1000) by ``reglab.uncertainty.mc_predict_regression``, the
  paper's predictive log-likelihood by ``gaussian_log_likelihood``.

Prints one line per split, then RMSE and test log-likelihood (mean +- std. error over splits) of
MC dropout and of the standard (eval-mode, "weight averaging") prediction next to the paper's.

Usage: python benchmarks/mc_dropout_regression.py [--splits 5] [--epochs 400] [--samples 1000]
Single-threaded (torch.set_num_threads(1)).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

PAPER = {"MC dropout": (2.97, 0.85, -2.46, 0.25)}
DROPOUTS = (0.005, 0.01, 0.05, 0.1)


def fit(x: torch.Tensor, y: torch.Tensor, p: float, *, epochs: int,
        seed: int) -> tuple[torch.nn.Module, tuple[float, float]]:
    """Train the 50-unit MLP on standardised targets; returns it and the target scale (m, s)."""
    from reglab.data.loader import TensorLoader
    from reglab.losses import mse
    from reglab.models import build
    from reglab.training import Trainer

    m, s = float(y.mean()), float(y.std(unbiased=False))
    torch.manual_seed(seed)
    model = build("mlp", (x.shape[1],), 1, width=50, depth=1, dropout=p, input_dropout=p)
    loader = TensorLoader(x, (y - m) / s, 32, shuffle=True, generator=torch.Generator().manual_seed(seed))
    Trainer(model, torch.optim.Adam(model.parameters(), lr=1e-3), mse, train_loader=loader,
            epochs=epochs, seed=seed, progress=False).fit()
    return model, (m, s)


def standardise(x_fit: torch.Tensor, *others: torch.Tensor) -> list[torch.Tensor]:
    mean, std = x_fit.mean(0), x_fit.std(0, unbiased=False).clamp_min(1e-12)
    return [(t - mean) / std for t in (x_fit, *others)]


def main() -> None:
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=400)
    ap.add_argument("--samples", type=int, default=1000)
    args = ap.parse_args()

    from mlxtend.data import boston_housing_data

    from reglab.experiments.regression import predict_original
    from reglab.uncertainty import choose_tau, gaussian_log_likelihood, interval_coverage, mc_predict_regression

    x_all, y_all = boston_housing_data()
    x_all = torch.as_tensor(np.asarray(x_all, dtype=np.float32))
    y_all = torch.as_tensor(np.asarray(y_all, dtype=np.float32))
    n = len(y_all)
    n_test = int(round(0.1 * n))
    res: dict[str, list[float]] = {k: [] for k in ("rmse", "ll", "det_rmse", "cov68", "cov95")}
    start = time.perf_counter()
    for split in range(args.splits):
        perm = torch.as_tensor(np.random.default_rng(split).permutation(n))
        test, train = perm[:n_test], perm[n_test:]
        n_val = int(round(0.2 * len(train)))
        fit_idx, val_idx = train[:-n_val], train[-n_val:]
        gen = torch.Generator().manual_seed(split)
        best = None
        for p in DROPOUTS:
            x_fit, x_val = standardise(x_all[fit_idx], x_all[val_idx])
            model, scale = fit(x_fit, y_all[fit_idx], p, epochs=args.epochs, seed=split)
            mc = mc_predict_regression(model, x_val, args.samples, generator=gen, scale=scale)
            tau = choose_tau(mc.samples, y_all[val_idx])
            ll = float(gaussian_log_likelihood(mc.samples, y_all[val_idx], tau).mean())
            if best is None or ll > best[2]:
                best = (p, tau, ll)
        p, tau, val_ll = best
        x_train, x_test = standardise(x_all[train], x_all[test])
        model, scale = fit(x_train, y_all[train], p, epochs=args.epochs, seed=split)
        y_test = y_all[test].double()
        mc = mc_predict_regression(model, x_test, args.samples, generator=gen, scale=scale)
        rmse = float(((mc.mean - y_test) ** 2).mean().sqrt())
        ll = float(gaussian_log_likelihood(mc.samples, y_test, tau).mean())
        det, _ = predict_original(model, x_test, scale)
        det_rmse = float(((det - y_test) ** 2).mean().sqrt())
        cov = interval_coverage(mc.mean, mc.predictive_variance(tau), y_test)
        for key, value in (("rmse", rmse), ("ll", ll), ("det_rmse", det_rmse), ("cov68", cov[0.68]),
                           ("cov95", cov[0.95])):
            res[key].append(value)
        print(f"split {split}: p={p:g} tau={tau:.3f} (val LL {val_ll:.2f}) | test RMSE {rmse:.2f} "
              f"(eval mode {det_rmse:.2f}), LL {ll:.2f}, 68%/95% coverage {cov[0.68]:.2f}/{cov[0.95]:.2f}"
              f"  ({time.perf_counter() - start:.0f} s)", flush=True)

    def se(values: list[float]) -> tuple[float, float]:
        a = np.asarray(values)
        return float(a.mean()), float(a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else math.nan

    k = args.splits
    print()
    print(f"Boston housing, {k} random 90/10 splits, 1 x 50 ReLU, {args.epochs} epochs, T={args.samples}; "
          "mean +- std. error over splits, original scale ($1000s)")
    print("| method | test RMSE | test log-likelihood | 68% / 95% coverage |")
    print("|---|---|---|---|")
    r, l_ = se(res["rmse"]), se(res["ll"])
    print(f"| MC dropout (reglab, {k} splits) | {r[0]:.2f} +- {r[1]:.2f} | {l_[0]:.2f} +- {l_[1]:.2f} | "
          f"{np.mean(res['cov68']):.2f} / {np.mean(res['cov95']):.2f} |")
    d = se(res["det_rmse"])
    print(f"| standard dropout, eval mode (reglab) | {d[0]:.2f} +- {d[1]:.2f} | | |")
    pr, prs, pl, pls = PAPER["MC dropout"]
    print(f"| MC dropout (Gal & Ghahramani 2016, 20 splits) | {pr:.2f} +- {prs:.2f} | {pl:.2f} +- {pls:.2f} | |")
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
