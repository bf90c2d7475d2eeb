"""Monte Carlo dropout: dropout kept on at test time as approximate Bayesian inference.

Gal & Ghahramani 2016, "Dropout as a Bayesian Approximation: Representing Model Uncertainty in
Deep Learning", ICML (arXiv:1506.02142): a network trained with dropout is an approximate
variational posterior over its weights; averaging ``T`` stochastic forward passes with dropout
active estimates the predictive distribution ``p(y|x) ~ 1/T sum_t softmax(f_t(x))``.

From the ``T`` passes :func:`mc_predict` returns, per example:

* ``probs``: the mean probabilities ``p_bar = 1/T sum_t p_t``; ``log_probs = log p_bar`` computed
  in the log domain (``logsumexp_t log p_t - log T``), exact even when a probability underflows;
* ``variance``: the per-class variance of ``p_t`` over passes (population, ``1/T``);
* ``entropy``: the predictive entropy ``H[p_bar] = -sum_c p_bar_c log p_bar_c`` (total
  uncertainty);
* ``expected_entropy``: ``1/T sum_t H[p_t]`` (the aleatoric part);
* ``mutual_information``: ``H[p_bar] - 1/T sum_t H[p_t]``, the information gain about the
  weights (BALD: Houlsby, Huszar, Ghahramani & Lengyel 2011, arXiv:1112.5745), the epistemic part;
  clamped at 0 (it is >= 0 by Jensen's inequality; rounding can make it a few ulp negative);
* ``most_uncertain``: indices of the ``top_k`` examples ranked by ``rank_by``.

Modes. Only the dropout-family modules (``reglab.nn.DROPOUT_FAMILY`` by default: torch's
``nn.Dropout*``/``AlphaDropout``/``FeatureAlphaDropout`` and reglab's ``Dropout``,
``SpatialDropout``, ``GaussianDropout``, ``AlphaDropout``, ``LockedDropout``, ``DropConnect``) are
switched to training mode, by setting ``module.training = True`` on each of them (never
``.train()``, which would recurse into a wrapped module); every other module, batch norm
included, is in eval mode, so running statistics are neither used nor updated. Every module's
mode is restored afterwards, also when a forward pass raises.

Randomness. The modules draw from torch's global RNG (``nn.Dropout`` takes no generator). With a
``generator``, :func:`mc_predict` draws one 63-bit seed from it, then runs the passes inside
``torch.random.fork_rng`` (the CPU RNG and, on CUDA, the model's device) after
``torch.manual_seed(seed)``: the caller's global RNG state is left exactly as it was, and the same
generator state, inputs and ``batch_size`` give the same numbers. Without a generator the passes
use (and advance) the global RNG.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn

from reglab._validate import check_choice, check_int, check_ndim, is_input_mismatch
from reglab.errors import invalid_argument

__all__ = [
    "MCPrediction",
    "RANK_BY",
    "mc_predict",
    "deterministic_predict",
    "mc_dropout_mode",
    "predictive_entropy",
    "mutual_information",
]

#: Quantities ``most_uncertain`` can rank by.
RANK_BY = ("mutual_information", "entropy", "variance")


@dataclass(frozen=True)
class MCPrediction:
    """The result of :func:`mc_predict` (tensors on the model's device).

    Attributes:
        probs: ``(N, C)`` mean predictive probabilities over the passes.
        log_probs: ``(N, C)`` ``log(probs)`` computed in the log domain.
        variance: ``(N, C)`` per-class variance of the passes' probabilities (divides by ``T``).
        entropy: ``(N,)`` predictive entropy of ``probs`` (nats).
        expected_entropy: ``(N,)`` mean entropy of the single passes (nats).
        mutual_information: ``(N,)`` BALD score ``entropy - expected_entropy`` (nats, >= 0).
        most_uncertain: ``(min(top_k, N),)`` example indices, most uncertain first.
        rank_by: the quantity ``most_uncertain`` ranks by.
        samples: the number of stochastic passes ``T``.
    """

    probs: Tensor
    log_probs: Tensor
    variance: Tensor
    entropy: Tensor
    expected_entropy: Tensor
    mutual_information: Tensor
    most_uncertain: Tensor
    rank_by: str
    samples: int

    @property
    def prediction(self) -> Tensor:
        """``(N,)`` predicted classes: the argmax of the mean probabilities."""
        return self.probs.argmax(dim=1)

    def score(self, rank_by: str = "mutual_information") -> Tensor:
        """``(N,)`` the uncertainty score ``rank_by`` (variance: summed over classes)."""
        check_choice("rank_by", rank_by, RANK_BY)
        if rank_by == "variance":
            return self.variance.sum(dim=1)
        return getattr(self, rank_by)

    def ranked(self, k: int | None = None, rank_by: str | None = None) -> Tensor:
        """Indices of the ``k`` most uncertain examples (all when None), by ``rank_by``
        (defaults to the ranking chosen in :func:`mc_predict`); ties keep index order."""
        score = self.score(rank_by or self.rank_by)
        n = score.shape[0]
        k = n if k is None else min(check_int("k", k, low=0), n)
        order = torch.sort(score, descending=True, stable=True).indices
        return order[:k]


def predictive_entropy(probs: Tensor) -> Tensor:
    """``-sum_c p_c log p_c`` over the last dimension, with ``0 log 0 = 0`` (nats)."""
    if not isinstance(probs, Tensor):
        raise ValueError(invalid_argument("probs", "a torch.Tensor", probs, shown=f"probs of type {type(probs).__name__}"))
    if not probs.is_floating_point():
        raise ValueError(invalid_argument("probs", "a floating-point tensor", probs.dtype, shown=f"probs.dtype={probs.dtype}"))
    return torch.special.entr(probs).sum(dim=-1)


def mutual_information(pass_probs: Tensor) -> Tensor:
    """BALD from the passes' probabilities ``(T, N, C)``: ``H[mean_t p_t] - mean_t H[p_t]`` (>= 0).

    Houlsby et al. 2011 (arXiv:1112.5745); Gal, Islam & Ghahramani 2017 (ICML, arXiv:1703.02910).
    """
    check_ndim("pass_probs", pass_probs, (3,))
    mean = pass_probs.mean(dim=0)
    return (predictive_entropy(mean) - predictive_entropy(pass_probs).mean(dim=0)).clamp_min(0.0)


def _selected(model: nn.Module, types: tuple[type[nn.Module], ...]) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, types)]


def _types(types: Any) -> tuple[type[nn.Module], ...]:
    if types is None:
        from reglab.nn import DROPOUT_FAMILY

        return DROPOUT_FAMILY
    if isinstance(types, type):
        types = (types,)
    if (
        not isinstance(types, (tuple, list))
        or not types
        or not all(isinstance(t, type) and issubclass(t, nn.Module) for t in types)
    ):
        raise ValueError(invalid_argument("types", "a non-empty tuple of torch.nn.Module subclasses", types))
    return tuple(types)


@contextmanager
def mc_dropout_mode(model: nn.Module, types: Any = None) -> Iterator[list[nn.Module]]:
    """Put ``model`` in eval mode with only the modules of ``types`` in training mode; restore
    every module's own ``training`` flag on exit (also on error). Yields the switched modules.

    Args:
        model: the network.
        types: module classes to keep stochastic. Defaults to None: ``reglab.nn.DROPOUT_FAMILY``
            (pass ``reglab.nn.STOCHASTIC_TYPES`` to include DropPath, DropBlock and noise layers).
    """
    chosen = _types(types)
    saved = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        active = _selected(model, chosen)
        for m in active:
            m.training = True  # not .train(): a wrapped module (e.g. BatchNorm in WeightNoise) stays in eval
        yield active
    finally:
        for m, mode in saved:
            m.training = mode


def _upcast(logits: Tensor) -> Tensor:
    """Half-precision logits are upcast to float32 before the softmax (float64 stays float64)."""
    return logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits


def _model_device(model: nn.Module) -> torch.device:
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


def _batches(inputs: Any, batch_size: int | None) -> Iterator[Tensor]:
    if isinstance(inputs, Tensor):
        if inputs.dim() == 0:
            raise ValueError(invalid_argument("inputs", "a tensor with a batch dimension", inputs,
                                              shown="inputs.ndim=0"))
        n = inputs.shape[0]
        step = n if batch_size is None else batch_size
        for start in range(0, n, max(step, 1)):
            yield inputs[start:start + step]
        return
    if isinstance(inputs, Iterable) and not isinstance(inputs, (str, bytes)):
        for item in inputs:
            x = item[0] if isinstance(item, (tuple, list)) else item
            if not isinstance(x, Tensor):
                raise ValueError(invalid_argument(
                    "inputs", "a tensor or an iterable of tensors / (input, target) batches", inputs,
                    shown=f"a batch of type {type(x).__name__}"))
            yield x
        return
    raise ValueError(invalid_argument("inputs", "a tensor or an iterable of tensors / (input, target) batches",
                                      inputs, shown=f"inputs of type {type(inputs).__name__}"))


def _rng_context(generator: torch.Generator | None, device: torch.device) -> Any:
    if generator is None:
        return nullcontext()
    seed = int(torch.randint(0, 2**63 - 1, (1,), generator=generator, device=generator.device).item())

    @contextmanager
    def forked() -> Iterator[None]:
        devices = [device.index if device.index is not None else torch.cuda.current_device()] \
            if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices, device_type="cuda"):
            torch.manual_seed(seed)  # seeds the CPU RNG and every CUDA device's RNG
            yield

    return forked()


def _first_pass(model: nn.Module, x: Tensor) -> Tensor:
    """``model(x)``; a batch the model cannot take (wrong feature size, dtype) -> one clear message."""
    try:
        return model(x)
    except (RuntimeError, TypeError) as exc:
        if not is_input_mismatch(exc):
            raise
        raise ValueError(invalid_argument("inputs", "inputs the model accepts", None,
                                          shown=f"a batch of shape {tuple(x.shape)}: {exc}")) from exc


@torch.no_grad()
def mc_predict(
    model: nn.Module,
    inputs: Tensor | Iterable[Any],
    samples: int = 30,
    *,
    generator: torch.Generator | None = None,
    batch_size: int | None = 1000,
    top_k: int = 10,
    rank_by: str = "mutual_information",
    types: Any = None,
) -> MCPrediction:
    """MC dropout prediction (Gal & Ghahramani 2016): ``samples`` stochastic passes per batch.

    See the module docstring for the returned quantities, the modes and the seeding.

    Args:
        model: a classifier returning ``(N, C)`` logits. It must hold at least one module of
            ``types``; its modes are restored afterwards.
        inputs: a tensor ``(N, ...)`` (split into ``batch_size`` chunks) or an iterable of batches
            (tensors or ``(input, target)`` pairs, e.g. a DataLoader). Batches are moved to the
            model's device.
        samples: stochastic passes ``T``, >= 1. Defaults to 30.
        generator: makes the passes reproducible (see "Randomness"). Defaults to None (the global
            RNG).
        batch_size: chunk size for a tensor input (None: all at once). Defaults to 1000.
        top_k: how many indices ``most_uncertain`` holds. Defaults to 10.
        rank_by: ``"mutual_information"``, ``"entropy"`` or ``"variance"`` (summed over classes).
            Defaults to ``"mutual_information"``.
        types: module classes kept stochastic. Defaults to None: ``reglab.nn.DROPOUT_FAMILY``.

    Returns:
        :class:`MCPrediction`.

    Raises:
        ValueError: a bad argument, or a model without any module of ``types`` (its passes would
            all be equal: no uncertainty to estimate).
    """
    if not isinstance(model, nn.Module):
        raise ValueError(invalid_argument("model", "a torch.nn.Module", model))
    samples = check_int("samples", samples, low=1)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, low=1)
    top_k = check_int("top_k", top_k, low=0)
    rank_by = check_choice("rank_by", rank_by, RANK_BY)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(invalid_argument("generator", "a torch.Generator or None", generator))
    chosen = _types(types)
    if not _selected(model, chosen):
        names = ", ".join(t.__name__ for t in chosen)
        raise ValueError(invalid_argument(
            "model", f"a model with at least one module of types ({names})", model,
            shown=f"a {type(model).__name__} without any (its MC passes would all be equal)"))
    device = _model_device(model)
    outs: dict[str, list[Tensor]] = {k: [] for k in ("mean", "lse", "m2", "exp_h")}
    with _rng_context(generator, device), mc_dropout_mode(model, chosen):
        for x in _batches(inputs, batch_size):
            x = x.to(device)
            mean = m2 = lse = exp_h = None
            for t in range(1, samples + 1):
                logits = model(x) if t > 1 else _first_pass(model, x)
                if logits.dim() != 2:
                    raise ValueError(invalid_argument(
                        "model", "a classifier returning (N, C) logits", model,
                        shown=f"outputs of shape {tuple(logits.shape)}"))
                logits = _upcast(logits)
                logp = torch.log_softmax(logits, dim=1)
                p = torch.softmax(logits, dim=1)  # the same op as deterministic_predict
                h = predictive_entropy(p)
                if mean is None:  # Welford: exact zeros when every pass is equal
                    mean, m2, lse, exp_h = p.clone(), torch.zeros_like(p), logp.clone(), h.clone()
                    continue
                delta = p - mean
                mean = mean + delta / t
                m2 = m2 + delta * (p - mean)
                lse = torch.logaddexp(lse, logp)
                exp_h = exp_h + (h - exp_h) / t
            outs["mean"].append(mean)
            outs["lse"].append(lse)
            outs["m2"].append(m2)
            outs["exp_h"].append(exp_h)
    if not outs["mean"]:
        raise ValueError(invalid_argument("inputs", "at least one example", inputs, shown="no batch"))
    probs = torch.cat(outs["mean"])
    log_probs = torch.cat(outs["lse"]) - math.log(samples)
    variance = torch.cat(outs["m2"]) / samples
    expected_entropy = torch.cat(outs["exp_h"])
    entropy = predictive_entropy(probs)
    mi = (entropy - expected_entropy).clamp_min(0.0)
    pred = MCPrediction(
        probs=probs,
        log_probs=log_probs,
        variance=variance,
        entropy=entropy,
        expected_entropy=expected_entropy,
        mutual_information=mi,
        most_uncertain=torch.empty(0, dtype=torch.long, device=probs.device),
        rank_by=rank_by,
        samples=samples,
    )
    return replace(pred, most_uncertain=pred.ranked(top_k))


@torch.no_grad()
def deterministic_predict(
    model: nn.Module, inputs: Tensor | Iterable[Any], *, batch_size: int | None = 1000
) -> Tensor:
    """``(N, C)`` softmax probabilities of ``model`` in eval mode (the standard "weight scaling"
    prediction of Srivastava et al. 2014); every module's mode is restored afterwards."""
    if not isinstance(model, nn.Module):
        raise ValueError(invalid_argument("model", "a torch.nn.Module", model))
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, low=1)
    device = _model_device(model)
    saved = [(m, m.training) for m in model.modules()]
    chunks = []
    try:
        model.eval()
        for x in _batches(inputs, batch_size):
            logits = model(x.to(device))
            if logits.dim() != 2:
                raise ValueError(invalid_argument(
                    "model", "a classifier returning (N, C) logits", model,
                    shown=f"outputs of shape {tuple(logits.shape)}"))
            chunks.append(torch.softmax(_upcast(logits), dim=1))
    finally:
        for m, mode in saved:
            m.training = mode
    if not chunks:
        raise ValueError(invalid_argument("inputs", "at least one example", inputs, shown="no batch"))
    return torch.cat(chunks)
