"""K multilayer perceptrons stored as stacked ``(K, ...)`` tensors and run as one batched model.

A sweep of small models is dominated by per-step overhead (measured: one MNIST-1D MLP step costs
a few ms, mostly dispatch), so K replicas trained one after another cost K times one. Here the
K members' weights are stacked into ``(K, in, out)`` leaf tensors and every layer is one
``torch.baddbmm`` over ``(K, B, in) x (K, in, out)``; one forward/backward serves all members.
Each member keeps its own dropout rate and its own mask generator.

The stack is compiled from ordinary modules (``reglab.models.build("mlp", ...)`` or any
``nn.Sequential`` of ``Linear``, element-wise activations, ``Flatten``/``Identity`` and
dropout layers): :func:`compile_stack` walks the members' modules in order, checks that they
share one layout, and copies their weights. :meth:`StackedMLP.write_member` copies member k back
into a module, so the trained weights can be evaluated, saved or analysed like a single run's.

Training steps of ReLU stacks skip autograd: :meth:`StackedMLP.forward_backward` writes the
gradients out (a few ``bmm`` calls per layer, the mask and ReLU derivatives as in-place
multiplies), which removes the graph's bookkeeping from every step; it agrees with autograd to
float rounding (tested to 1e-6). Other activations train through autograd.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from reglab.errors import ConfigError, invalid_argument
from reglab.experiments.vectorized.masks import MaskPlan

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
_TRANSPOSED_OUT = 32  # layers with at most this many outputs run transposed (forward_backward)


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
        self._cache: dict[Any, Any] = {}

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
    def _mask_plan(self, x: torch.Tensor, masks: str) -> MaskPlan | None:
        """The :class:`MaskPlan` of inputs shaped like ``x`` (cached per shape), or None when no
        member drops anything."""
        batch, width = x.shape[-2], x.shape[-1]
        key = ("plan", batch, width, x.dtype, x.device, masks)
        if key in self._cache:
            return self._cache[key]  # type: ignore[no-any-return]
        rates, shapes = [], []
        for layer in self.layers:
            if layer.kind == "linear":
                width = self.weights[layer.index].shape[2]
            elif layer.kind == "dropout" and any(r > 0 for r in layer.rate):
                rates.append(layer.rate)
                shapes.append((batch, width))
        plan = MaskPlan(rates, shapes, dtype=x.dtype, device=x.device, mode=masks) if rates else None
        self._cache[key] = plan
        return plan

    def _draw_masks(
        self, x: torch.Tensor, generators: Sequence[torch.Generator | None] | None, masks: str
    ) -> Iterator[torch.Tensor]:
        """This step's masks, in site order (see :class:`MaskPlan`)."""
        plan = self._mask_plan(x, masks)
        if plan is None:
            return iter(())
        return iter(plan.draw(generators if generators is not None else [None] * self.num_members))

    def forward(
        self,
        x: torch.Tensor,
        *,
        training: bool,
        generators: Sequence[torch.Generator | None] | None = None,
        masks: str = "exact",
    ) -> torch.Tensor:
        """Logits ``(K, B, classes)`` for flat inputs ``(K, B, features)`` or shared ``(B, features)``.

        When ``training``, each member draws the keep-masks of all dropout sites from its own
        generator, in site order (members with ``p = 0`` draw nothing), as
        :class:`~reglab.experiments.vectorized.masks.MaskPlan` describes:

        * ``masks="exact"``: bit for bit the masks ``torch.empty(B, H).bernoulli_(1 - p,
          generator=g)`` draws on CPU (the draw of :func:`reglab.functional.dropout`), leaving
          ``g`` in the same state, so member k reproduces a single run using that generator;
        * ``masks="fast"``: the same Bernoulli(1 - p) law up to ``2**-31`` from half as many
          draws, a different random stream than a single run.

        Kept units are scaled by ``1 / (1 - p)`` (inverted dropout, Srivastava et al. 2014).
        """
        if masks not in ("exact", "fast"):
            raise ValueError(invalid_argument("masks", "one of 'exact', 'fast'", masks))
        h = x
        inplace = not torch.is_grad_enabled()
        drawn = self._draw_masks(x, generators, masks) if training else iter(())
        for layer in self.layers:
            if layer.kind == "linear":
                w, b = self.weights[layer.index], self.biases[layer.index]
                k, fan_in, fan_out = w.shape
                if h.dim() == 2:  # shared input: one (B, in) x (in, K * out) product -> (K, B, out)
                    wide = w.permute(1, 0, 2).reshape(fan_in, k * fan_out)
                    h = torch.addmm(b.reshape(k * fan_out), h, wide).view(-1, k, fan_out).transpose(0, 1)
                elif fan_out <= _TRANSPOSED_OUT:  # few outputs: (W^T h^T)^T is the faster product
                    h = torch.baddbmm(b.transpose(1, 2), w.transpose(1, 2), h.transpose(1, 2)).transpose(1, 2).contiguous()
                else:  # (K, B, in) x (K, in, out) -> (K, B, out)
                    h = torch.baddbmm(b, h, w)
            elif layer.kind == "act":
                if inplace and layer.act is F.relu and h is not x:
                    h = torch.relu_(h)
                else:
                    h = layer.act(h)  # type: ignore[misc]
            elif training and any(r > 0 for r in layer.rate):
                if h.dim() == 2:
                    h = h.unsqueeze(0).expand(self.num_members, *h.shape)
                h = h * next(drawn)
        return h

    # hand-written training step ---------------------------------------------------------
    def supports_manual_backward(self) -> bool:
        """Whether :meth:`forward_backward` can run this stack: every activation is ReLU."""
        return all(layer.kind != "act" or layer.act is F.relu for layer in self.layers)

    def _transposed_views(self) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """Per linear layer ``(W^T, b^T)`` as views of the parameters (``b^T`` None for layers
        run untransposed): the parameters are updated in place, so the views stay valid."""
        views = self._cache.get("views")
        if views is None:
            views = [
                (w.detach().transpose(1, 2), b.detach().transpose(1, 2) if w.shape[2] <= _TRANSPOSED_OUT else None)
                for w, b in zip(self.weights, self.biases)
            ]
            self._cache["views"] = views
        return views  # type: ignore[no-any-return]

    def forward_backward(
        self,
        x: torch.Tensor,
        target: torch.Tensor,
        *,
        generators: Sequence[torch.Generator | None] | None = None,
        masks: str = "exact",
        smoothing: torch.Tensor | None = None,
        l1: torch.Tensor | None = None,
        l2: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One training forward and its backward, written out (no autograd graph).

        Computes the training-mode logits of ``x`` ``(K, B, F)`` (dropout masks drawn as
        :meth:`forward` draws them, same generators, same order), each member's mean
        cross-entropy against ``target`` (class indices ``(K, B)``, or soft targets
        ``(K, B, C)`` such as mixup's, whose rows sum to 1) with label smoothing ``smoothing``
        (K,) (Szegedy et al. 2016), and sets each parameter's ``.grad`` to the gradient of
        ``sum_k [loss_k + l1_k * sum|W_k| + l2_k * sum W_k^2]`` (weights only), what
        ``objective.sum().backward()`` gives, to float rounding:

        * loss: ``dlogits = (softmax - t) / B`` with ``t = (1 - eps) * y + eps / C``, ``y`` the
          one-hot or soft target;
        * linear ``h W + b``: ``dW = h^T g``, ``db = sum_b g``, ``g <- g W^T``;
        * dropout ``h * m``: ``g <- g * m``; ReLU: ``g <- g * [out > 0]``
          (``threshold_backward``, as autograd);
        * penalties: ``dW += l1 * sign(W) + 2 * l2 * W``.

        Layers with few outputs (the classifier) run transposed, ``(W^T h^T)^T``: the batched
        ``(B, in) x (in, 10)`` product is 3-4x slower on CPU than ``(10, in) x (in, B)``
        (measured with MKL). Requires :meth:`supports_manual_backward`.

        Returns:
            ``(logits, loss)``: ``(K, B, C)`` and ``(K,)``.
        """
        if torch.is_grad_enabled():
            with torch.no_grad():
                return self.forward_backward(
                    x, target, generators=generators, masks=masks, smoothing=smoothing, l1=l1, l2=l2
                )
        drawn = self._draw_masks(x, generators, masks)
        views = self._transposed_views()
        tape: list[tuple[str, Any]] = []
        h = x
        for layer in self.layers:
            if layer.kind == "linear":
                w, b = self.weights[layer.index], self.biases[layer.index]
                tape.append(("linear", (layer.index, h)))
                wt, bt = views[layer.index]
                if bt is not None:  # few outputs: (W^T h^T)^T
                    h = torch.baddbmm(bt, wt, h.transpose(1, 2)).transpose(1, 2).contiguous()
                else:
                    h = torch.baddbmm(b, h, w)
            elif layer.kind == "act":
                h = torch.relu_(h) if h is not x else torch.relu(h)  # in place on a fresh product
                tape.append(("relu", h))  # dropout may scale it in place: same sign pattern
            elif any(r > 0 for r in layer.rate):
                m = next(drawn)
                h = h * m if not tape or tape[-1][0] != "relu" else h.mul_(m)
                tape.append(("dropout", m))
        logits = h
        k, b, c = logits.shape
        logp = torch.log_softmax(logits, dim=-1)
        soft = target.is_floating_point()  # soft targets (K, B, C), e.g. mixup's
        if soft:
            nll = (target * logp).sum(-1).neg_()  # (K, B)
        else:
            picked = target.unsqueeze(-1)  # (K, B, 1)
            nll = logp.gather(-1, picked).squeeze(-1).neg_()  # (K, B)
        if smoothing is None:
            loss = nll.mean(1)
        else:
            eps = smoothing.view(-1, 1)
            loss = ((1 - eps) * nll + eps * logp.mean(dim=-1).neg_()).mean(dim=1)
        g = logp.exp()  # softmax - t, t = (1 - eps) * y + eps / C
        if smoothing is not None:
            g.sub_(smoothing.view(-1, 1, 1) / c)
        if soft:
            g.sub_(target if smoothing is None else target * (1 - smoothing).view(-1, 1, 1))
        else:
            if smoothing is None:
                key = ("minus_one", g.dtype, g.device)
                if key not in self._cache:
                    self._cache[key] = torch.full((1, 1, 1), -1.0, dtype=g.dtype, device=g.device)
                hit = self._cache[key].expand(k, b, 1)
            else:
                hit = (smoothing - 1).view(-1, 1, 1).expand(k, b, 1)
            g.scatter_add_(-1, picked, hit)
        g.mul_(1.0 / b)
        self._backward(tape, g, views, l1, l2)
        return logits, loss

    def _backward(
        self,
        tape: list[tuple[str, Any]],
        g: torch.Tensor,
        views: list[tuple[torch.Tensor, torch.Tensor | None]],
        l1: torch.Tensor | None,
        l2: torch.Tensor | None,
    ) -> None:
        """Back-propagate ``g = dloss/dlogits`` through the forward's tape and set every
        parameter's ``.grad`` (see :meth:`forward_backward`)."""
        for pos in range(len(tape) - 1, -1, -1):
            kind, saved = tape[pos]
            if kind == "linear":
                index, inp = saved
                w = self.weights[index]
                wt, bt = views[index]
                if bt is not None:
                    dw = torch.bmm(g.transpose(1, 2), inp).transpose(1, 2).contiguous()
                else:
                    dw = torch.bmm(inp.transpose(1, 2), g)
                if l1 is not None:
                    dw.add_(torch.sign(w).mul_(l1.view(-1, 1, 1)))
                if l2 is not None:
                    dw.add_(w * (2 * l2).view(-1, 1, 1))
                w.grad = dw
                self.biases[index].grad = g.sum(1, keepdim=True)
                if index == 0:
                    break  # nothing before the first linear layer has parameters
                g = torch.bmm(g, wt)
            elif kind == "relu":
                g = torch.ops.aten.threshold_backward(g, saved, 0)
            else:
                g = g.mul_(saved)
