"""Knowledge distillation: a small student trained with and without a teacher's soft targets.

Hinton, Vinyals & Dean 2015 ("Distilling the Knowledge in a Neural Network", arXiv:1503.02531):
the student matches the teacher's softened probabilities ``softmax(z / T)`` (the ``T^2``-scaled
soft term, weight ``alpha``) besides the hard labels. Here the teacher (a 128x3 MLP) learns from
``teacher_size`` points; the students (``student_width`` x 1) see only ``train_size`` of them, with
10% of their labels flipped: one with ``reglab.losses.DistillationLoss`` and the teacher, one from
scratch, on the same batches from the same initial weights. The ``start`` of the students' phase
(event ``teacher``) shows what the temperature does: the teacher's probabilities for a few
training points at T = 1, 2, 4, 8 and 20.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import torch

from reglab.lab.demos.common import (
    BoundaryGrid,
    SeedGate,
    StreamCallback,
    build_mlp,
    clean,
    fit,
    start_payload,
)
from reglab.lab.schemas import DistillationParams

__all__ = ["prepare", "TEMPERATURES", "soft_targets"]

TEMPERATURES = (1.0, 2.0, 4.0, 8.0, 20.0)
SHOWN_POINTS = 4


@torch.no_grad()
def soft_targets(model: torch.nn.Module, x: torch.Tensor, temperatures: tuple[float, ...] = TEMPERATURES) -> list[Any]:
    """``[[softmax(model(x) / T) per point] per T]`` in eval mode."""
    model.eval()
    logits = model(x)
    return [torch.softmax(logits / t, dim=1).tolist() for t in temperatures]


def prepare(params: DistillationParams) -> Any:
    from reglab.data import load

    # normalize=False: the teacher and the students must see the same inputs (the toy sets are
    # already centred and of unit scale), not each split standardized by its own statistics
    teacher_splits = load(params.dataset, seed=params.seed, train_size=params.teacher_size, normalize=False)
    splits = load(params.dataset, seed=params.seed, train_size=params.train_size, label_noise=params.label_noise,
                  normalize=False)
    teacher = build_mlp(teacher_splits, width=128, depth=3, seed=params.seed)
    distilled = build_mlp(splits, width=params.student_width, depth=1, seed=params.seed + 1)
    scratch = copy.deepcopy(distilled)
    grid = BoundaryGrid(splits.x_train, splits.info.num_classes)
    num_classes = splits.info.num_classes

    def train(job: Any, arm: str, model: torch.nn.Module, data: Any, epochs: int, out: dict[str, Any],
              **kwargs: Any) -> None:
        from reglab.training import Trainer

        torch.set_num_threads(1)
        try:
            train_loader, val_loader, _ = data.loaders(params.batch_size, seed=params.seed)
            gate = SeedGate()
            stream = StreamCallback(job, num_classes, grid=grid, boundary_every=5, arm=arm, epochs=epochs)
            trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=params.lr), train_loader=train_loader,
                              val_loader=val_loader, callbacks=[gate, stream], epochs=epochs, seed=params.seed,
                              progress=False, **kwargs)
            out[arm] = {"history": fit(trainer, gate).to_dict()}
        except BaseException as exc:  # re-raised in the job thread
            out[arm + "_error"] = exc
            job.cancel()

    def run(job: Any) -> dict[str, Any]:
        from reglab.losses import DistillationLoss

        job.emit("start", start_payload(splits, grid, params.epochs, temperatures=list(TEMPERATURES)))
        out: dict[str, Any] = {}
        train(job, "teacher", teacher, teacher_splits, params.teacher_epochs, out)
        if "teacher_error" in out:
            raise out["teacher_error"]
        if job.should_cancel:
            return clean(out)
        shown = splits.x_train[:SHOWN_POINTS]
        job.emit("teacher", clean({"soft_targets": soft_targets(teacher, shown), "labels": splits.y_train[:SHOWN_POINTS],
                                   "temperatures": list(TEMPERATURES)}, 4))
        loss = DistillationLoss(temperature=params.temperature, alpha=params.alpha)
        other = threading.Thread(target=train, args=(job, "scratch", scratch, splits, params.epochs, out), daemon=True)
        other.start()
        train(job, "distilled", distilled, splits, params.epochs, out, teacher=teacher, loss_fn=loss)
        other.join()
        for arm in ("distilled", "scratch"):
            if arm + "_error" in out:
                raise out[arm + "_error"]
        d, s = out["distilled"]["history"], out["scratch"]["history"]
        sentence = (f"The student with the teacher's soft targets (T={params.temperature:g}) ends at validation "
                    f"accuracy {d['val_acc'][-1]:.3f} against {s['val_acc'][-1]:.3f} from the labels alone "
                    f"(teacher: {out['teacher']['history']['val_acc'][-1]:.3f}).")
        return clean({**out, "comparison": sentence})

    return run
