"""Bounds on a plan before anything trains: its size, its memory, its workers.

A mistaken request (``--seeds 100000``, ``--epochs 1e9``, a 10^6-point grid, ``model.width=1e6``,
``--workers 64`` on 2 cores) used to start silently, eat gigabytes or end in an allocator
traceback. The checks here run first and cost nothing next to training:

* :func:`count_runs` counts a plan's runs from the config (arms or grid sizes times seeds)
  without building a spec; :func:`reglab.experiments.plan.plan` refuses more than
  :data:`MAX_RUNS` before materialising anything.
* :func:`check_confirmed` refuses, unless the CLI got ``--yes``, a plan of more than
  :data:`CONFIRM_RUN_EPOCHS` run-epochs (runs x epochs; the default study is 1,500);
  :func:`check_samples_confirmed` likewise more than :data:`CONFIRM_SAMPLES` MC dropout passes.
* :func:`model_footprint` builds a spec's model on PyTorch's ``meta`` device (no memory is
  allocated) and runs one meta forward pass, giving the parameter count and an estimate of the
  training memory of one run: weights, gradients and optimizer state (AdamW/Adam: two more
  copies, SGD with momentum: one) in float32, plus the activations of one batch kept for the
  backward pass. :func:`check_memory` refuses a model whose estimate exceeds the memory
  available now (``MemAvailable`` of ``/proc/meminfo``).
* :func:`cap_workers` caps ``--workers`` at the CPU cores available, with a one-line warning.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from reglab.errors import ConfigError, invalid_argument

__all__ = [
    "MAX_RUNS", "CONFIRM_RUN_EPOCHS", "CONFIRM_SAMPLES", "count_runs", "check_run_count", "check_confirmed",
    "check_samples_confirmed", "Footprint", "model_footprint",
    "available_memory", "check_memory", "cap_workers", "format_bytes", "epoch_seconds", "format_seconds",
]

#: A plan with more runs than this is refused outright (10^5 specs already take ~1 GB to build).
MAX_RUNS = 100_000
#: The CLI asks for ``--yes`` above this many run-epochs (runs x epochs).
CONFIRM_RUN_EPOCHS = 200_000
#: ``reglab uncertainty`` asks for ``--yes`` above this many MC dropout passes.
CONFIRM_SAMPLES = 10_000


def count_runs(config: Any) -> int:
    """Runs in the plan of a study/sweep config, counted without building a spec."""
    grid = getattr(config, "grid", None)
    if grid is not None:
        points = math.prod(len(values) for values in grid.values())
    else:
        from reglab.techniques import study_arms

        points = len(study_arms(config.arms, config.model.name, config.data.name))
    return points * config.seeds


def check_run_count(config: Any) -> int:
    """:func:`count_runs`, refusing more than :data:`MAX_RUNS` with a ``ConfigError``."""
    runs = count_runs(config)
    if runs > MAX_RUNS:
        what = "grid points" if getattr(config, "grid", None) is not None else "arms"
        raise ConfigError(invalid_argument(
            "plan", f"at most {MAX_RUNS:,} runs ({what} x seeds)", runs,
            shown=f"{runs:,} runs ({runs // config.seeds:,} {what} x {config.seeds:,} seeds)"))
    return runs


def check_confirmed(runs: int, epochs: int, yes: bool) -> None:
    """Refuse (``ConfigError`` naming ``--yes``) a plan above :data:`CONFIRM_RUN_EPOCHS` run-epochs
    unless ``yes``."""
    total = runs * epochs
    if total > CONFIRM_RUN_EPOCHS and not yes:
        raise ConfigError(invalid_argument(
            "--yes", f"--yes to start a plan of more than {CONFIRM_RUN_EPOCHS:,} run-epochs (runs x epochs)", None,
            shown=f"{runs:,} runs x {epochs:,} epochs = {total:,} run-epochs without --yes"))


def check_samples_confirmed(samples: int, yes: bool) -> None:
    """Refuse more than :data:`CONFIRM_SAMPLES` MC-dropout passes unless ``yes``."""
    if samples > CONFIRM_SAMPLES and not yes:
        raise ConfigError(invalid_argument(
            "--yes", f"--yes to run more than {CONFIRM_SAMPLES:,} MC dropout passes", None,
            shown=f"--samples {samples:,} without --yes"))


@dataclass(frozen=True)
class Footprint:
    """One run's model: parameters and estimated training memory (bytes)."""

    params: int
    param_bytes: int  # weights + gradients + optimizer state
    activation_bytes: int  # one batch's activations (0 when the meta forward pass is not possible)
    epoch_seconds: float | None = None  # measured: one training step x steps per epoch (one thread)

    @property
    def total_bytes(self) -> int:
        return self.param_bytes + self.activation_bytes


def _optimizer_copies(spec: Any) -> int:
    name = spec.optimizer.name
    if name in ("adam", "adamw"):
        return 2
    return 1 if spec.optimizer.momentum > 0 else 0


def model_footprint(spec: Any, info: Any, model_spec: Any = None, *, dropout: float = 0.0,
                    drop_path: float = 0.0) -> Footprint:
    """Parameters and training memory of ``spec``'s model (or ``model_spec``), built on ``meta``."""
    import torch

    from reglab.experiments.execute import build_model

    with torch.device("meta"):
        model = build_model(model_spec or spec.model, info, dropout=dropout, drop_path=drop_path)
    params = sum(p.numel() for p in model.parameters())
    bytes_per = 4 * (2 + _optimizer_copies(spec))  # float32 weights + grads + optimizer state
    activations = 0
    outputs: list[int] = []

    def hook(_module: Any, _inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor):
            outputs.append(output.numel() * output.element_size())

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        # the loader never makes a batch larger than the training set
        x = torch.empty((min(spec.batch_size, max(1, info.n_train)), *info.input_shape), device="meta")
        model(x)
        activations = sum(outputs)
    except Exception:  # noqa: BLE001 - an estimate: a model the meta device cannot run counts 0
        activations = 0
    finally:
        for h in handles:
            h.remove()
    return Footprint(params=params, param_bytes=params * bytes_per, activation_bytes=activations)


def epoch_seconds(model: Any, spec: Any, info: Any, *, repeats: int = 3) -> float | None:
    """Seconds of one training epoch of ``model`` on this machine: the median of ``repeats`` timed
    forward/backward/step passes on a random batch (after one warm-up), times the epoch's steps.
    None when the model cannot run on such a batch (the run itself will say why)."""
    import time

    import torch

    steps = max(1, math.ceil(info.n_train / spec.batch_size))
    batch = min(spec.batch_size, max(1, info.n_train))
    x = torch.randn(batch, *info.input_shape)
    classes = max(1, int(info.num_classes))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    times = []
    try:
        for i in range(repeats + 1):
            start = time.perf_counter()
            out = model(x)
            target = torch.randint(0, classes, (batch,)) if info.task == "classification" else torch.randn_like(out)
            loss = torch.nn.functional.cross_entropy(out, target) if info.task == "classification" else (
                torch.nn.functional.mse_loss(out, target))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if i:
                times.append(time.perf_counter() - start)
    except Exception:  # noqa: BLE001 - an estimate only
        return None
    return sorted(times)[len(times) // 2] * steps


def format_seconds(seconds: float) -> str:
    """``95`` -> ``'1.6 min'``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def available_memory() -> int | None:
    """Bytes of memory available now (``MemAvailable``), None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def check_memory(footprint: Footprint, model_name: str, *, argument: str = "model.options",
                 available: int | None = None) -> None:
    """Refuse a model whose training memory exceeds what is available (``ConfigError``)."""
    available = available_memory() if available is None else available
    if available is not None and footprint.total_bytes > available:
        raise ConfigError(invalid_argument(
            argument, f"a model whose training fits in the {format_bytes(available)} of memory available", None,
            shown=f"model {model_name!r} with {footprint.params:,} parameters needs about "
                  f"{format_bytes(footprint.total_bytes)} (weights, gradients, optimizer state and one batch's "
                  "activations)"))


def cap_workers(requested: int, cores: int) -> tuple[int, str | None]:
    """``(workers, warning)``: at most one worker per core (more only slows every run down)."""
    if requested > cores:
        return cores, (f"--workers {requested} is more than the {cores} CPU cores available; using {cores} "
                       "(one single-threaded worker per core is fastest for small models).")
    return requested, None
