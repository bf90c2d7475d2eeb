"""``supports`` and ``run_vectorized``: train K run specs of one architecture as one batched model.

A study's arms differ in their regularization, not in their architecture, so the K runs of one
seed (or the K seeds of one arm) can share every step: :func:`run_vectorized` builds each
member exactly as :func:`reglab.experiments.execute.run_one` does (model initialised under
``torch.manual_seed(spec.seed)``, data order from ``torch.Generator().manual_seed(spec.seed)``,
dropout masks from the run's seed), stacks them (:func:`compile_stack`) and trains them together
(:func:`fit_stacked`). With ``masks="exact"`` (the default, on CPU) member k sees the very batches,
dropout masks and input noise ``run_one(spec_k)`` sees and applies the same updates, so the two
agree to float rounding: batched and single matrix products round differently (~1e-7), which is
invisible over a few epochs but grows over hundreds of Adam steps (Adam's update is scale-free, so
a near-zero gradient whose sign rounding flips moves a weight by a full ``lr``): after 10 MNIST-1D
epochs, some members' test accuracy differs from the single run's by up to ~2-3 points, the spread
of a change of seed. With ``masks="fast"`` the masks come from a cheaper draw of the same Bernoulli
law: members are statistically, not numerically, equivalent to single runs. On CUDA, ``run_one``'s
dropout uses PyTorch's fused kernel (another stream), so both modes are statistically equivalent.

What varies per member: seed (init, order, masks), ``optimizer.lr``, ``epochs``,
``regularization.dropout``, ``weight_decay``, ``l1``, ``l2``, ``label_smoothing``,
``input_noise``, ``mixup_alpha`` (each member draws its ``lam`` and pairing from its own generator,
as the Trainer's batch transform does), ``augment`` when it resolves to a signal shift (``shift``,
or ``auto`` on MNIST-1D; drawn from the member's generator before its mixup, as the Trainer's
``[augment, mix]`` pipeline), ``max_norm``, ``grad_clip``, ``early_stopping``. What must
be shared: the data spec, the model spec, ``batch_size``, the optimizer kind (and SGD momentum).
Not supported (:func:`supports` names the field): the techniques declared ``vectorized=False`` in
``reglab.techniques`` (CutMix, DropPath, distillation), augmentation policies other than the
signal shift, models other than
``mlp`` (without normalization layers) and ``linear_head``, regression datasets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from reglab.errors import ConfigError
from reglab.experiments.spec import RunSpec
from reglab.experiments.vectorized.engine import MemberHyper, fit_stacked
from reglab.experiments.vectorized.stacked_mlp import compile_stack
from reglab.techniques import vectorized_problem

__all__ = ["supports", "run_vectorized", "SUPPORTED_MODELS"]

#: Model families the stacked engine runs (``nn.Sequential`` of Linear, activation, Dropout).
SUPPORTED_MODELS = ("mlp", "linear_head")
_SUFFIX = "is not supported by the vectorized runner"


def _first_difference(specs: Sequence[RunSpec], getter: Any, what: str) -> str | None:
    first = getter(specs[0])
    for i, spec in enumerate(specs[1:], start=1):
        value = getter(spec)
        if value != first:
            return f"runs 0 and {i} differ in {what} ({first!r} vs {value!r}); the vectorized runner needs one shared {what}"
    return None


def supports(specs: Sequence[RunSpec]) -> tuple[bool, str]:
    """Whether :func:`run_vectorized` can train ``specs`` together, and why (not).

    Returns:
        ``(True, reason)`` with a one-line description of the batch, or ``(False, reason)`` naming
        the first field that prevents it, e.g. ``"cutmix_alpha=1.0 is not supported by the
        vectorized runner"``.
    """
    specs = list(specs)
    if not specs:
        return False, "no run to train"
    for spec in specs:
        if not isinstance(spec, RunSpec):
            return False, f"expected RunSpec values, got {type(spec).__name__}"
    for spec in specs:
        problem = vectorized_problem(spec)  # the techniques declared ``vectorized=False``
        if problem is not None:
            return False, f"{problem} {_SUFFIX}"
        if spec.model.name not in SUPPORTED_MODELS:
            allowed = ", ".join(repr(m) for m in SUPPORTED_MODELS)
            return False, f"model {spec.model.name!r} {_SUFFIX} (it trains {allowed})"
        norm = spec.model.options.get("norm")
        if norm is not None:
            return False, f"model option norm={norm!r} {_SUFFIX}"
        if spec.optimizer.schedule != "constant":  # the batched optimizer keeps one lr per member
            return False, f"learning-rate schedule {spec.optimizer.schedule!r} {_SUFFIX}"
    checks = (
        (lambda s: s.data, "data spec"),
        (lambda s: s.model, "model spec"),
        (lambda s: s.batch_size, "batch_size"),
        (lambda s: s.optimizer.name, "optimizer"),
        (lambda s: s.optimizer.momentum if s.optimizer.name == "sgd" else None, "SGD momentum"),
    )
    for getter, what in checks:
        problem = _first_difference(specs, getter, what)
        if problem is not None:
            return False, problem
    try:
        from reglab.experiments.execute import load_splits

        info = load_splits(specs[0].data).info
    except Exception as exc:  # a bad dataset fails with its own message in the runner
        return False, f"dataset {specs[0].data.name!r} could not be loaded ({exc})"
    if info.task != "classification":
        return False, f"dataset {specs[0].data.name!r} is a {info.task} task; the vectorized runner trains classifiers"
    for spec in specs:
        problem = _augment_problem(spec, info)
        if problem is not None:
            return False, problem
    try:
        from reglab.experiments.execute import build_model

        with torch.random.fork_rng(devices=[]):  # building initialises weights: keep the global RNG
            model = build_model(specs[0].model, info, dropout=specs[0].regularization.dropout).eval()
            stack = compile_stack([model])
            probe = torch.randn(4, *info.input_shape)
            with torch.no_grad():
                same = torch.allclose(stack.forward(probe.reshape(4, -1), training=False)[0], model(probe), atol=1e-5)
    except ConfigError as exc:
        return False, f"model {specs[0].model.name!r} with options {dict(specs[0].model.options)!r}: {exc}"
    if not same:  # the model's forward is not the sequence of its layers
        name = specs[0].model.name
        return False, f"model {name!r} does not run its layers in sequence; it is not supported by the vectorized runner"
    n = len(specs)
    return True, f"{n} run{'s' if n != 1 else ''} share model {specs[0].model.name!r}: trained as one batched model"


def _augmenter(spec: RunSpec, info: Any) -> Any:
    """The run's augmentation transform, as ``execute.train`` resolves it (None for ``"none"``)."""
    from reglab.experiments.execute import augmentation, load_splits

    return augmentation(spec, load_splits(spec.data))


def _augment_problem(spec: RunSpec, info: Any) -> str | None:
    """Why the run's augmentation cannot be batched (only signal shifts of flat inputs can), or None."""
    from reglab.augment import RandomShift

    value = spec.regularization.augment
    try:
        transform = _augmenter(spec, info)
    except ConfigError as exc:
        return f"augment={value!r}: {exc}"
    if transform is not None and (not isinstance(transform, RandomShift) or len(info.input_shape) != 1):
        return f"augment={value!r} on {info.name!r} {_SUFFIX} (it batches the 'shift' policy of 1-D signals)"
    return None


def _stopper(spec: RunSpec) -> Any:
    es = spec.regularization.early_stopping
    if es is None:
        return None
    from reglab.training import EarlyStopping

    return EarlyStopping(
        monitor=es.monitor, mode=es.mode, patience=es.patience, min_delta=es.min_delta, restore_best=es.restore_best
    )


def run_vectorized(
    specs: Sequence[RunSpec], *, device: str = "cpu", progress: bool = False, masks: str = "exact",
    on_epoch: Callable[[int, int], None] | None = None,
) -> list[Any]:
    """Train ``specs`` as one batched model; one ``RunResult`` per spec, in order.

    Args:
        specs: runs accepted by :func:`supports`.
        device: torch device. Defaults to ``"cpu"``.
        progress: print one line per epoch (mean metrics over the members) on stderr.
            Defaults to False.
        masks: ``"exact"`` (member k draws the dropout masks ``run_one(spec_k)`` draws) or
            ``"fast"`` (same law, cheaper draw). Defaults to ``"exact"``.
        on_epoch: called with ``(epoch, epochs)`` after each epoch of the batch (``epochs`` the
            longest member's), e.g. to move a progress bar while the group trains. Defaults to None.

    Returns:
        ``list[RunResult]``; ``RunResult.seconds`` is the batch's wall time divided by K.

    Raises:
        ConfigError: :func:`supports` refuses the specs (its reason is the message).
    """
    from reglab.experiments.execute import RunResult, build_model, final_metrics, load_splits

    if masks not in ("exact", "fast"):
        from reglab.errors import invalid_argument

        raise ValueError(invalid_argument("masks", "one of 'exact', 'fast'", masks))
    ok, reason = supports(specs)
    if not ok:
        raise ConfigError(f"Cannot train these runs vectorized: {reason}.")
    started = time.perf_counter()
    specs = list(specs)
    splits = load_splits(specs[0].data)
    info = splits.info
    models = []
    with torch.random.fork_rng(devices=[]):
        for spec in specs:  # as run_one: initialised under torch.manual_seed(spec.seed)
            torch.manual_seed(spec.seed)
            models.append(build_model(spec.model, info, dropout=spec.regularization.dropout))
    stack = compile_stack(models).to(device)
    hypers = [
        MemberHyper(
            lr=s.optimizer.lr,
            weight_decay=s.regularization.weight_decay,
            l1=s.regularization.l1,
            l2=s.regularization.l2,
            label_smoothing=s.regularization.label_smoothing,
            input_noise=s.regularization.input_noise,
            mixup_alpha=s.regularization.mixup_alpha,
            max_norm=s.regularization.max_norm,
            grad_clip=s.regularization.grad_clip,
            augment=_augmenter(s, info),
        )
        for s in specs
    ]
    dev = torch.device(device)
    printer = _printer(len(specs)) if progress else None
    longest = max(s.epochs for s in specs)

    def on_epoch_end(epoch: int, rows: list[dict[str, Any]]) -> None:
        if printer is not None:
            printer(epoch, rows)
        if on_epoch is not None:
            on_epoch(epoch, longest)
    has_val = info.n_val > 0
    histories = fit_stacked(
        stack,
        hypers,
        splits.x_train.to(dev),
        splits.y_train.to(dev),
        splits.x_val.to(dev) if has_val else None,
        splits.y_val.to(dev) if has_val else None,
        epochs=[s.epochs for s in specs],
        batch_size=specs[0].batch_size,
        order_generators=[torch.Generator().manual_seed(s.seed) for s in specs],  # Splits.loaders
        mask_generators=[torch.Generator(device=dev).manual_seed(s.seed) for s in specs],  # Trainer.fit
        transform_generators=[torch.Generator(device=dev).manual_seed(s.seed) for s in specs],  # Trainer.generator
        optimizer=specs[0].optimizer.name,
        momentum=specs[0].optimizer.momentum,
        masks=masks,
        stoppers=[_stopper(s) for s in specs],
        on_epoch_end=on_epoch_end,
    )
    results = []
    for k, (spec, model, history) in enumerate(zip(specs, models, histories)):
        model = stack.write_member(k, model.to(dev))
        results.append(RunResult(spec=spec, history=history, final=final_metrics(model, splits, history, device=device), seconds=0.0))
    seconds = (time.perf_counter() - started) / len(specs)
    for result in results:
        result.seconds = seconds
    return results


def _printer(k: int) -> Any:
    import sys

    def show(epoch: int, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        mean = {key: sum(r[key] for r in rows if r[key] is not None) / len(rows) for key in ("train_loss", "train_acc")}
        vals = [r["val_acc"] for r in rows if r["val_acc"] is not None]
        val = f" val_acc {sum(vals) / len(vals):.3f}" if vals else ""
        print(
            f"epoch {epoch}: {len(rows)}/{k} members training, train_loss {mean['train_loss']:.4f} "
            f"train_acc {mean['train_acc']:.3f}{val}",
            file=sys.stderr,
        )

    return show
