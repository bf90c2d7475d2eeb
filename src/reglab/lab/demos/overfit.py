"""Demo 1, overfitting in action: train an MLP and stream train/validation curves and a verdict.

Small training sets, label noise and a large model make the validation loss turn up while the
training loss keeps falling (Zhang et al. 2017, "Understanding deep learning requires rethinking
generalization", ICLR, arXiv:1611.03530). The verdict of every epoch is
``reglab.analysis.diagnose`` on the curves so far.

With any regularizer switched on (dropout, AdamW weight decay, early stopping, input jitter,
label smoothing, mixup; see :class:`~reglab.lab.schemas.OverfitParams`) the page trains two models side
by side from the same initial weights on the same batches: the ``regularized`` twin and the
unregularized ``baseline``; each ``epoch`` event names its ``arm`` and the ``done`` payload
carries both histories and a sentence comparing them (:func:`compare`).
"""

from __future__ import annotations

import threading
from typing import Any

import torch

from reglab.lab.demos.common import (
    SeedGate,
    StreamCallback,
    build_mlp,
    clean,
    fit,
    prepare_mlp,
    start_payload,
)
from reglab.lab.schemas import OverfitParams

__all__ = ["prepare", "compare", "calibration", "FIRST_EPOCH_HEAD_START"]

#: Seconds the unregularized twin waits for the regularized one's first epoch before it starts
#: (both then train side by side on the same batches; only the start is staggered).
FIRST_EPOCH_HEAD_START = 2.0


def compare(regularizers: list[str], reg: dict[str, Any], base: dict[str, Any]) -> str:
    """One sentence comparing the twins' final accuracy gaps and best validation losses."""

    def gap(h: dict[str, Any]) -> float:
        return 100.0 * (h["train_acc"][-1] - h["val_acc"][-1])

    g_r, g_b = gap(reg), gap(base)
    v_r, v_b = min(reg["val_loss"]), min(base["val_loss"])
    a_r, a_b = reg["val_acc"][-1], base["val_acc"][-1]
    change = "shrinks" if g_r < g_b else "does not shrink"
    return (f"With {', '.join(regularizers)} the train-validation accuracy gap {change}: {g_r:.1f} pts against "
            f"{g_b:.1f} pts without; final validation accuracy {a_r:.3f} against {a_b:.3f}, best validation "
            f"loss {v_r:.3f} against {v_b:.3f}.")


@torch.no_grad()
def calibration(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """On the validation set, in eval mode: the mean confidence (top softmax probability), the
    accuracy, and the expected calibration error (``reglab.uncertainty``, 15 bins)."""
    from reglab.uncertainty.calibration import expected_calibration_error

    was_training = model.training
    model.eval()
    try:
        probs = torch.softmax(model(x), dim=1)
    finally:
        model.train(was_training)
    return {"confidence": float(probs.max(dim=1).values.mean()),
            "accuracy": float((probs.argmax(dim=1) == y).float().mean()),
            "ece": expected_calibration_error(probs, y)}


def _batch_transform(params: OverfitParams, num_classes: int) -> Any:
    """Input jitter (its own generator, seeded by ``params.seed``), then mixup (the Trainer's generator)."""
    from reglab.augment import Mixup
    from reglab.augment.signal import jitter

    noise = torch.Generator().manual_seed(params.seed)
    mix = Mixup(alpha=params.mixup, num_classes=num_classes) if params.mixup else None

    def transform(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None) -> Any:
        if params.augment:
            x = jitter(x, params.augment, noise)
        if mix is not None:
            x, y = mix(x, y, generator)
        return x, y

    return transform


def prepare(params: OverfitParams) -> Any:
    """Load the data and build the model(s) now; return the runner that trains them."""
    splits, model, grid = prepare_mlp(params)
    num_classes = splits.info.num_classes
    regularizers = params.regularizers()
    twin = (build_mlp(splits, width=params.width, depth=params.depth, seed=params.seed, dropout=params.dropout)
            if regularizers else None)

    first = threading.Event()  # the twin's first epoch streamed: the baseline may start

    def train(job: Any, arm: str | None, net: torch.nn.Module, regularized: bool, out: dict[str, Any]) -> None:
        from reglab.training import Callback, EarlyStopping, Trainer

        class FirstEpoch(Callback):
            order = -1  # before the stream's epoch end, where a paused job waits

            def on_epoch_end(self, trainer: Any, epoch: int, logs: Any) -> None:
                first.set()

        torch.set_num_threads(1)
        if arm == "baseline":  # on a small machine the first streamed point comes sooner this way
            first.wait(FIRST_EPOCH_HEAD_START)
        try:
            train_loader, val_loader, _ = splits.loaders(params.batch_size, seed=params.seed)
            kwargs: dict[str, Any] = {}
            callbacks: list[Any] = []
            if regularized and params.weight_decay:
                optimizer: torch.optim.Optimizer = torch.optim.AdamW(net.parameters(), lr=params.lr,
                                                                     weight_decay=params.weight_decay)
            else:
                optimizer = torch.optim.Adam(net.parameters(), lr=params.lr)
            if regularized and params.label_smoothing:
                from reglab.losses import label_smoothing_cross_entropy

                eps = params.label_smoothing
                kwargs["loss_fn"] = lambda logits, target: label_smoothing_cross_entropy(logits, target, eps)
                kwargs["eval_loss_fn"] = torch.nn.functional.cross_entropy  # curves comparable with the twin
            if regularized and (params.augment or params.mixup):
                kwargs["batch_transform"] = _batch_transform(params, num_classes)
            if arm == "regularized":
                callbacks.append(FirstEpoch())
            if regularized and params.patience:
                callbacks.append(EarlyStopping(monitor="val_loss", mode="min", patience=params.patience,
                                               restore_best=True))
            gate = SeedGate()
            stream = StreamCallback(job, num_classes, grid=grid, boundary_every=params.boundary_every, arm=arm,
                                    epochs=params.epochs)
            trainer = Trainer(net, optimizer, train_loader=train_loader, val_loader=val_loader,
                              callbacks=[gate, stream, *callbacks], epochs=params.epochs, seed=params.seed,
                              progress=False, **kwargs)
            history = fit(trainer, gate).to_dict()
            out[arm or "single"] = {"history": history, "best_epoch": history.get("best_epoch"),
                                    "stopped_epoch": history.get("stopped_epoch"),
                                    "stop_reason": history.get("stop_reason"),
                                    **calibration(net, splits.x_val, splits.y_val)}
        except BaseException as exc:  # re-raised in the job thread
            out[(arm or "single") + "_error"] = exc
            job.cancel()
        finally:
            first.set()

    def run(job: Any) -> dict[str, Any]:
        job.emit("start", start_payload(splits, grid, params.epochs, regularizers=regularizers))
        out: dict[str, Any] = {}
        if twin is None:
            train(job, None, model, False, out)
            if "single_error" in out:
                raise out["single_error"]
            return clean(out["single"])
        other = threading.Thread(target=train, args=(job, "baseline", model, False, out), daemon=True)
        other.start()
        train(job, "regularized", twin, True, out)
        other.join()
        for arm in ("regularized", "baseline"):
            if arm + "_error" in out:
                raise out[arm + "_error"]
        sentence = compare(regularizers, out["regularized"]["history"], out["baseline"]["history"])
        return clean({**out["regularized"], "regularized": out["regularized"], "baseline": out["baseline"],
                      "comparison": sentence})

    return run
