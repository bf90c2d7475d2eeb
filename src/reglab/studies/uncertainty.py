"""Deterministic vs MC-dropout evaluation of a run spec's trained model (``reglab uncertainty``).

The run store keeps each run's spec and final metrics but not its weights, so a stored run is
re-trained from its spec by the same code as ``reglab.experiments.run_one`` (same seed, same
numbers; a run that the vectorized runner trained agrees up to float rounding). Then the test set
is predicted twice: once in eval mode (dropout off, the usual prediction) and once with
:func:`reglab.uncertainty.mc_predict` (dropout on, Gal & Ghahramani 2016), and both predictions are
scored with :func:`reglab.uncertainty.calibration_metrics`.

Part of the orchestration layer (:mod:`reglab.studies`): it reads the run store, re-trains through
the experiments layer and hands the result to ``reglab.report``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from reglab._validate import check_choice, check_int
from reglab.errors import ConfigError, StoreError, invalid_argument
from reglab.uncertainty.calibration import CalibrationMetrics, calibration_metrics
from reglab.uncertainty.mc import RANK_BY, deterministic_predict, mc_predict

__all__ = ["UncertaintyResult", "evaluate_uncertainty", "find_stored_run"]


@dataclass
class UncertaintyResult:
    """Deterministic vs MC-dropout scores of one trained model on one split.

    Attributes:
        spec: the run spec (``reglab.experiments.RunSpec``) that was trained.
        split: ``"test"`` or ``"val"``.
        samples: MC passes.
        seed: seed of the MC passes' generator.
        deterministic / mc: :class:`CalibrationMetrics` of the eval-mode and MC predictions.
        uncertain: the ``top_k`` most uncertain examples, most uncertain first: dicts with
            ``index, label, prediction, confidence, entropy, mutual_information, variance``.
        inputs: ``(top_k, *input_shape)`` inputs of those examples (CPU), for drawing.
        input_shape / class_names: from the dataset info.
        rank_by: the uncertainty score the examples are ranked by.
        stored_final: the stored run's final metrics when the spec came from a store, else None.
        seconds: wall-clock seconds (training included).
    """

    spec: Any
    split: str
    samples: int
    seed: int
    deterministic: CalibrationMetrics
    mc: CalibrationMetrics
    uncertain: list[dict[str, Any]]
    inputs: torch.Tensor
    input_shape: tuple[int, ...]
    class_names: list[str] | None
    rank_by: str
    stored_final: dict[str, Any] | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (no tensors)."""
        return {
            "spec": self.spec.to_dict(),
            "split": self.split,
            "samples": self.samples,
            "seed": self.seed,
            "deterministic": self.deterministic.to_dict(),
            "mc": self.mc.to_dict(),
            "uncertain": self.uncertain,
            "rank_by": self.rank_by,
            "stored_final": None if self.stored_final is None else
            {k: v for k, v in self.stored_final.items() if k != "weight_hist"},
            "seconds": self.seconds,
        }


def find_stored_run(path: str | os.PathLike[str], *, study: str | None = None, arm: str | None = None,
                    seed: int | None = None) -> Any:
    """One completed run of a store: ``arm`` (None: the first arm, in plan order, whose runs use
    dropout) and ``seed`` (None: its lowest seed). Returns a ``StoredRun``.

    Raises:
        StoreError: missing/empty store, or no completed run.
        ValueError: an unknown study, arm or seed (the message lists the choices).
    """
    from reglab.report import load_runs

    runs, label, _ = load_runs(path, study)
    runs = [r for r in runs if getattr(r, "status", "completed") == "completed"]
    if not runs:
        raise StoreError(f"Run store {label!r} holds no completed runs. Expected at least one completed "
                         "run. Received: 0 completed runs")
    arms = list(dict.fromkeys(r.spec.arm for r in runs))
    if arm is None:
        with_dropout = [a for a in arms if any(r.spec.arm == a and r.spec.regularization.dropout > 0 for r in runs)]
        arm = with_dropout[0] if with_dropout else arms[0]
    elif arm not in arms:
        raise ValueError(invalid_argument("arm", "one of " + ", ".join(repr(a) for a in arms), arm))
    chosen = sorted((r for r in runs if r.spec.arm == arm), key=lambda r: r.spec.seed)
    if seed is None:
        return chosen[0]
    seeds = [r.spec.seed for r in chosen]
    if seed not in seeds:
        raise ValueError(invalid_argument("seed", f"one of the seeds of arm {arm!r}: "
                                          + ", ".join(str(s) for s in seeds), seed))
    return chosen[seeds.index(seed)]


def _no_dropout_error(spec: Any) -> ConfigError:
    return ConfigError(
        f"Run {spec.arm!r} (seed {spec.seed}) has no dropout layer, so MC dropout has nothing to "
        "sample. Expected a run trained with dropout > 0 (e.g. the study arm 'dropout', or "
        f"--dropout 0.2 for a fresh run). Received: regularization.dropout={spec.regularization.dropout!r}"
    )


def evaluate_uncertainty(
    spec: Any,
    *,
    samples: int = 30,
    seed: int = 0,
    n_bins: int = 15,
    top_k: int = 10,
    rank_by: str = "mutual_information",
    split: str = "test",
    device: str = "cpu",
    stored_final: dict[str, Any] | None = None,
) -> UncertaintyResult:
    """Train ``spec`` (as ``run_one`` does) and compare eval-mode and MC-dropout predictions.

    Args:
        spec: a ``reglab.experiments.RunSpec`` (or its dict) of a classification run with dropout.
        samples: MC passes, >= 1. Defaults to 30.
        seed: seeds the MC passes' ``torch.Generator``. Defaults to 0.
        n_bins: equal-width ECE bins. Defaults to 15 (Guo et al. 2017).
        top_k: most uncertain examples listed. Defaults to 10.
        rank_by: ``"mutual_information"`` (BALD), ``"entropy"`` or ``"variance"``. Defaults to
            ``"mutual_information"``.
        split: ``"test"`` or ``"val"``. Defaults to ``"test"``.
        device: torch device. Defaults to ``"cpu"``.
        stored_final: the stored run's final metrics, kept in the result for comparison.

    Raises:
        ConfigError: the spec trains no dropout layer, or is a regression task.
    """
    from reglab.experiments.execute import build_model, load_splits, train
    from reglab.nn import DROPOUT_FAMILY
    from reglab.experiments.spec import RunSpec

    start = time.perf_counter()
    if isinstance(spec, dict):
        spec = RunSpec.from_dict(spec)
    if not isinstance(spec, RunSpec):
        raise ValueError(invalid_argument("spec", "a RunSpec or its dict", spec))
    samples = check_int("samples", samples, low=1)
    seed = check_int("seed", seed, low=0)
    n_bins = check_int("n_bins", n_bins, low=1)
    top_k = check_int("top_k", top_k, low=0)
    rank_by = check_choice("rank_by", rank_by, RANK_BY)
    split = check_choice("split", split, ("test", "val"))
    reg = spec.regularization
    info = load_splits(spec.data).info
    if info.task != "classification":
        raise ConfigError(f"Run {spec.arm!r} is a {info.task} run on {info.name!r}. Expected a "
                          f"classification run (calibration needs class probabilities). Received: "
                          f"dataset {info.name!r}")
    with torch.random.fork_rng(devices=[]):  # the probe's initialisation leaves the global RNG alone
        probe = build_model(spec.model, info, dropout=reg.dropout,
                            drop_path=reg.drop_path, input_noise=reg.input_noise)
    if not any(isinstance(m, DROPOUT_FAMILY) for m in probe.modules()):
        raise _no_dropout_error(spec)
    model, _, splits = train(spec, device=device, progress=False)
    info = splits.info
    x, y = getattr(splits, f"x_{split}"), getattr(splits, f"y_{split}")
    if len(y) == 0:
        raise ConfigError(f"The {split} split of {info.name!r} is empty. Expected at least one example. "
                          f"Received: 0 examples")
    y_dev = y.to(device)
    det_probs = deterministic_predict(model, x)
    deterministic = calibration_metrics(det_probs, y_dev, n_bins)
    gen = torch.Generator().manual_seed(seed)
    pred = mc_predict(model, x, samples, generator=gen, top_k=top_k, rank_by=rank_by)
    mc = calibration_metrics(pred.probs, y_dev, n_bins, log_probs=pred.log_probs)
    idx = pred.most_uncertain.cpu()
    names = list(info.class_names) if getattr(info, "class_names", None) else None
    uncertain = []
    for i in idx.tolist():
        uncertain.append({
            "index": i,
            "label": int(y[i]),
            "prediction": int(pred.prediction[i]),
            "confidence": float(pred.probs[i].max()),
            "entropy": float(pred.entropy[i]),
            "mutual_information": float(pred.mutual_information[i]),
            "variance": float(pred.variance[i].sum()),
        })
    return UncertaintyResult(
        spec=spec, split=split, samples=samples, seed=seed, deterministic=deterministic, mc=mc,
        uncertain=uncertain, inputs=x[idx].detach().cpu(), input_shape=tuple(info.input_shape),
        class_names=names, rank_by=rank_by, stored_final=stored_final,
        seconds=time.perf_counter() - start,
    )
