"""K multilayer perceptrons stored as stacked ``(K, ...)`` tensors and run as one batched model.

A sweep of small models is dominated by per-step overhead (FACTS.md: one MNIST-1D MLP step costs
a few ms, mostly dispatch), so K replicas trained one after another cost K times one. Here the
K members' weights are stacked into ``(K, in, out)`` leaf tensors and every layer is one
``torch.baddbmm`` over ``(K, B, in) x (K, in, out)``; one forward/backward serves all members.
Each member keeps its own dropout rate and its own mask generator.

The stack is compiled from ordinary modules (``reglab.models.build("mlp", ...)`` or any
``nn.Sequential`` of ``Linear``, element-wise activations, ``Flatten``/``Identity`` and
dropout layers): :func:`compile_stack` walks the members' modules in order, checks that they
share one layout, and copies their weights. :meth:`StackedMLP.write_member` copies member k back
into a module, so the trained weights can be evaluated, saved or analysed like a single run's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from reglab.errors import ConfigError, invalid_argument

__all__ = ["Layer", "StackedMLP", "compile_stack", "leaf_modules"]

_ACTIVATIONS: dict[type, Callable[[torch.Tensor], torch.Tensor]] = {
    nn.ReLU: F.relu,
    nn.GELU: F.gelu,
    nn.Tanh: torch.tanh,
    nn.Sigmoid: torch.sigmoid,
    nn.SiLU: F.silu,
    nn.ELU: F.elu,
    nn.LeakyReLU: F.leaky_relu,
}
_PASS_THROUGH = (nn.Identity, nn.Flatten)


@dataclass(frozen=True)
class Layer:
    """One step of the stacked forward: ``kind`` is ``"linear"``, ``"act"`` or ``"dropout"``."""

    kind: str
    index: int = -1  # linear: index into the weight list
    act: Callable[[torch.Tensor], torch.Tensor] | None = None
    rate: tuple[float, ...] = ()  # dropout: the per-member drop probability


def _is_dropout(module: nn.Module) -> bool:
    if isinstance(module, nn.Dropout):
        return True
    name = type(module).__name__
    return name == "Dropout" and hasattr(module, "p")


def leaf_modules(model: nn.Module) -> list[nn.Module]:
    """The model's leaf modules in registration order (its forward order for a Sequential)."""
    return [m for m in model.modules() if not list(m.children())]


def _describe(module: nn.Module) -> str:
    return type(module).__name__


def _split_dropout(model: nn.Module) -> tuple[list[nn.Module], dict[int, float]]:
    """The model's non-dropout leaf modules, and the dropout rate after core position i
    (``-1``: on the input), skipping pass-through modules (Flatten, Identity)."""
    core: list[nn.Module] = []
    rates: dict[int, float] = {}
    for module in leaf_modules(model):
        if isinstance(module, _PASS_THROUGH):
            continue
        if _is_dropout(module):
            if getattr(module, "mode", "inverted") != "inverted" or type(module).__name__ != "Dropout":
                raise ConfigError(f"Cannot stack dropout module {module!r} (inverted element-wise Dropout only).")
            pos = len(core) - 1
            if pos in rates:
                raise ConfigError("Cannot stack two consecutive dropout modules.")
            rates[pos] = float(module.p)
        else:
            core.append(module)
    return core, rates


def compile_stack(models: Sequence[nn.Module]) -> StackedMLP:
    """Stack ``models`` (same layout, any weights and dropout rates) into one :class:`StackedMLP`.

    Members may differ in their dropout rates, including ``p = 0`` for a member whose model has
    no dropout module there (``reglab.models`` adds none for a rate of 0): a dropout site exists
    wherever some member has one, with rate 0 for the others.

    Raises:
        ConfigError: a member holds a module the stack cannot run (convolutions, normalization,
            a dropout variant other than inverted element-wise dropout) or the members' layouts
            differ.
    """
    if not models:
        raise ValueError(invalid_argument("models", "at least one model", models))
    split = [_split_dropout(m) for m in models]
    first = split[0][0]
    shape_a = [(_describe(m), tuple(tuple(p.shape) for p in m.parameters())) for m in first]
    for k, (core, _) in enumerate(split[1:], start=1):
        shape_b = [(_describe(m), tuple(tuple(p.shape) for p in m.parameters())) for m in core]
        if shape_a != shape_b:
            raise ConfigError(f"Cannot stack the members: member {k} has layout {shape_b}, member 0 has {shape_a}.")
    sites = sorted({pos for _, rates in split for pos in rates})
    layers: list[Layer] = []
    weights: list[torch.Tensor] = []
    biases: list[torch.Tensor] = []

    def add_site(pos: int) -> None:
        if pos in sites:
            layers.append(Layer("dropout", rate=tuple(rates.get(pos, 0.0) for _, rates in split)))

    add_site(-1)
    for pos, module in enumerate(first):
        column = [core[pos] for core, _ in split]
        if isinstance(module, nn.Linear):
            if module.bias is None:
                raise ConfigError("Cannot stack a Linear layer without bias.")
            # (K, in, out): x @ W^T per member
            weights.append(torch.stack([m.weight.detach().t() for m in column]).contiguous())
            biases.append(torch.stack([m.bias.detach() for m in column]).unsqueeze(1).contiguous())
            layers.append(Layer("linear", index=len(weights) - 1))
        elif type(module) in _ACTIVATIONS:
            if isinstance(module, nn.LeakyReLU) and module.negative_slope != 0.01:
                raise ConfigError("Cannot stack LeakyReLU with a non-default negative_slope.")
            if isinstance(module, nn.GELU) and module.approximate != "none":
                raise ConfigError("Cannot stack GELU with approximate='tanh'.")
            layers.append(Layer("act", act=_ACTIVATIONS[type(module)]))
        else:
            raise ConfigError(
                f"Cannot stack module {type(module).__name__} (only Linear, element-wise activations and Dropout)."
            )
        add_site(pos)
    if not weights:
        raise ConfigError("Cannot stack a model without Linear layers.")
    return StackedMLP(layers, weights, biases)


class StackedMLP:
    """K MLPs as stacked leaf tensors: weights ``(K, in, out)``, biases ``(K, 1, out)``.

    Args:
        layers: the forward program (see :func:`compile_stack`).
        weights, biases: per linear layer, the stacked parameters (made leaf tensors that
            require grad).
    """

    def __init__(self, layers: Sequence[Layer], weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor]):
        self.layers = list(layers)
        self.weights = [w.detach().clone().requires_grad_(True) for w in weights]
        self.biases = [b.detach().clone().requires_grad_(True) for b in biases]
        self.num_members = self.weights[0].shape[0]
        self._cache: dict[tuple, Any] = {}

    def to(self, device: str | torch.device) -> StackedMLP:
        """Move the parameters to ``device`` (in place; returns self)."""
        self.weights = [w.detach().to(device).requires_grad_(True) for w in self.weights]
        self.biases = [b.detach().to(device).requires_grad_(True) for b in self.biases]
        self._cache.clear()
        return self

    # parameters -------------------------------------------------------------------------
    def parameters(self) -> list[torch.Tensor]:
        """Weights then biases, layer by layer: ``[W0, b0, W1, b1, ...]``."""
        out: list[torch.Tensor] = []
        for w, b in zip(self.weights, self.biases):
            out += [w, b]
        return out

    def decayed(self) -> list[bool]:
        """Which of :meth:`parameters` are decayed (``dim >= 2`` in the member: weights, not biases)."""
        return [i % 2 == 0 for i in range(2 * len(self.weights))]

    def snapshot(self) -> list[torch.Tensor]:
        return [p.detach().clone() for p in self.parameters()]

    @torch.no_grad()
    def restore(self, snapshot: Sequence[torch.Tensor], members: torch.Tensor) -> None:
        """Copy ``snapshot`` into the parameters of the members where ``members`` (K,) is True."""
        for p, s in zip(self.parameters(), snapshot):
            p[members] = s[members]

    @torch.no_grad()
    def write_member(self, k: int, model: nn.Module) -> nn.Module:
        """Copy member ``k``'s weights into ``model`` (same layout as the compiled members)."""
        linears = [m for m in leaf_modules(model) if isinstance(m, nn.Linear)]
        for lin, w, b in zip(linears, self.weights, self.biases):
            lin.weight.copy_(w[k].t())
            lin.bias.copy_(b[k, 0])
        return model

    def dropout_rates(self) -> list[tuple[float, ...]]:
        return [layer.rate for layer in self.layers if layer.kind == "dropout"]

    # forward ----------------------------------------------------------------------------
    def _columns(self, rate: tuple[float, ...], like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-member ``1 / (1 - p)`` scale and 31-bit keep threshold, ``(K, 1, 1)`` each (cached)."""
        key = (rate, like.dtype, like.device)
        cols = self._cache.get(key)
        if cols is None:
            scale = torch.tensor([1.0 / (1.0 - r) for r in rate], dtype=like.dtype, device=like.device)
            thr = torch.tensor(
                [min(round((1.0 - r) * 2**31), 2**31 - 1) for r in rate], dtype=torch.int32, device=like.device
            )
            cols = (scale.view(-1, 1, 1), thr.view(-1, 1, 1))
            self._cache[key] = cols
        return cols

    def _keep(self, rate: tuple[float, ...], like: torch.Tensor) -> torch.Tensor:
        """Per-member keep probability ``1 - p`` as float64 ``(K, 1, 1)`` (cached)."""
        key = (rate, "keep", like.device)
        keep = self._cache.get(key)
        if keep is None:
            keep = torch.tensor([1.0 - r for r in rate], dtype=torch.float64, device=like.device).view(-1, 1, 1)
            self._cache[key] = keep  # type: ignore[assignment]
        return keep  # type: ignore[return-value]

    def _mask(
        self, rate: tuple[float, ...], h: torch.Tensor, generators: Sequence[torch.Generator | None], masks: str
    ) -> torch.Tensor:
        """The scaled keep-mask ``(K, B, H)`` of one dropout site (see :meth:`forward`)."""
        scale, thr = self._columns(rate, h)
        if masks == "exact":
            # bernoulli_(q, generator=g) on CPU keeps a unit iff its double uniform draw is < q:
            # drawing the doubles with uniform_ and comparing gives the same mask and leaves the
            # generator in the same state, at about half the cost.
            u = torch.empty(h.shape, dtype=torch.float64, device=h.device)
            for k, r in enumerate(rate):
                if r > 0:
                    u[k].uniform_(generator=generators[k])
                else:
                    u[k].zero_()  # below q = 1: kept, scale 1, no draw
            return (u < self._keep(rate, h)) * scale
        u = torch.empty(h.shape, dtype=torch.int32, device=h.device)
        for k, r in enumerate(rate):
            if r > 0:
                u[k].random_(generator=generators[k])  # uniform on [0, 2^31)
            else:
                u[k].zero_()  # always below the threshold: kept, scale 1
        return (u < thr) * scale  # bool * float: one kernel, 0 or 1 / (1 - p)

    def forward(
        self,
        x: torch.Tensor,
        *,
        training: bool,
        generators: Sequence[torch.Generator | None] | None = None,
        masks: str = "exact",
    ) -> torch.Tensor:
        """Logits ``(K, B, classes)`` for flat inputs ``(K, B, features)`` or shared ``(B, features)``.

        When ``training``, every dropout site draws each member's keep-mask from that member's
        generator (members with ``p = 0`` draw nothing), in member order:

        * ``masks="exact"``: the mask ``torch.empty(B, H).bernoulli_(1 - p, generator=g)``
          draws on CPU (the draw of :func:`reglab.functional.dropout` and of PyTorch's CPU
          dropout), bit for bit and leaving ``g`` in the same state, so member k reproduces a
          single run that uses the same generator; computed as ``uniform_ (float64) < 1 - p``,
          which is what ``bernoulli_`` does internally, at about half its cost (measured);
        * ``masks="fast"``: 31 random bits per unit (``int32.random_``, uniform on
          ``[0, 2**31)``), kept when below ``round((1 - p) * 2**31)``: the same Bernoulli(1 - p) law up to
          ``2**-31`` (finer than ``torch.rand``'s 24 bits), about 5x cheaper than ``bernoulli_`` and
          2-3x cheaper than the exact draw on CPU (measured on 100 x 100 masks), but a
          different random stream than a single run.

        Kept units are scaled by ``1 / (1 - p)`` (inverted dropout, Srivastava et al. 2014).
        """
        if masks not in ("exact", "fast"):
            raise ValueError(invalid_argument("masks", "one of 'exact', 'fast'", masks))
        h = x
        for layer in self.layers:
            if layer.kind == "linear":
                w, b = self.weights[layer.index], self.biases[layer.index]
                if h.dim() == 2:  # shared input: (B, in) @ (K, in, out) -> (K, B, out)
                    h = torch.matmul(h, w) + b
                else:  # (K, B, in) x (K, in, out) -> (K, B, out)
                    h = torch.baddbmm(b, h, w)
            elif layer.kind == "act":
                h = layer.act(h)  # type: ignore[misc]
            elif training and any(r > 0 for r in layer.rate):
                if h.dim() == 2:
                    h = h.unsqueeze(0).expand(self.num_members, *h.shape)
                gens = generators if generators is not None else [None] * self.num_members
                h = h * self._mask(layer.rate, h, gens, masks)
        return h
