"""Noise-injection modules: ``GaussianNoise`` on activations/inputs, ``WeightNoise`` on weights.

References:
    Bishop. "Training with Noise is Equivalent to Tikhonov Regularization". Neural Computation
    7(1), 1995.
    Graves. "Practical Variational Inference for Neural Networks". NeurIPS 2011.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from reglab import functional as RF
from reglab._validate import check_non_negative
from reglab.errors import invalid_argument
from reglab.registry import Configurable, register

__all__ = ["GaussianNoise", "WeightNoise"]


@register("gaussian_noise")
class GaussianNoise(nn.Module, Configurable):
    """Additive ``N(0, std^2)`` noise in training, identity in evaluation (Bishop 1995).

    See :func:`reglab.functional.gaussian_noise`.

    Args:
        std: standard deviation of the noise, >= 0. Defaults to 0.1.
    """

    def __init__(self, std: float = 0.1) -> None:
        super().__init__()
        self.std = check_non_negative("std", std)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return RF.gaussian_noise(input, self.std, training=self.training)

    def extra_repr(self) -> str:
        return f"std={self.std}"


@register("weight_noise")
class WeightNoise(nn.Module, Configurable):
    """Run ``module`` with Gaussian noise added to some of its weights in training (Graves 2011).

    Each training forward draws fresh noise ``N(0, std^2)`` for every named parameter and calls
    the module with ``w + noise`` through :func:`torch.func.functional_call`; the stored
    parameters are never modified, and gradients flow to them (the noise is additive, so
    ``d(w + noise)/dw = 1``). Evaluation calls the module unchanged.

    Args:
        module: the module to wrap (e.g. an ``nn.Linear``).
        std: standard deviation of the weight noise, >= 0.
        names: names of the perturbed parameters, as in ``module.named_parameters()``
            (``"weight"``, ``"0.weight"``). Defaults to ``("weight",)``.
    """

    def __init__(self, module: nn.Module, std: float, names: Sequence[str] = ("weight",)) -> None:
        super().__init__()
        if not isinstance(module, nn.Module):
            raise ValueError(invalid_argument("module", "a torch.nn.Module", module))
        self.std = check_non_negative("std", std)
        known = dict(module.named_parameters())
        if (
            isinstance(names, str)
            or not isinstance(names, Sequence)
            or len(names) == 0
            or any(name not in known for name in names)
        ):
            expected = "a non-empty sequence of parameter names of the module, from " + ", ".join(
                repr(n) for n in known
            )
            raise ValueError(invalid_argument("names", expected, names))
        self.module = module
        self.names = tuple(names)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return functional_call(
            self.module, RF.weight_noise(self._params(), self.std, training=self.training), args, kwargs
        )

    def _params(self) -> dict[str, torch.Tensor]:
        # Plain attribute look-up, not ``get_parameter``: under an outer ``functional_call`` (or
        # ``torch.func`` transforms) the attributes hold plain tensors, not ``nn.Parameter``s.
        params = {}
        for name in self.names:
            owner, _, attr = name.rpartition(".")
            params[name] = getattr(self.module.get_submodule(owner) if owner else self.module, attr)
        return params

    def extra_repr(self) -> str:
        return f"std={self.std}, names={self.names}"
