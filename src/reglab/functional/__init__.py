"""Pure tensor functions of the regularizers (torch only).

Every function takes the tensor first, its hyperparameters, then the keyword-only ``training``
flag and an optional ``torch.Generator``; it validates its arguments before anything else (so a
bad rate fails in evaluation too) and never modifies its input. With ``generator=None`` the
standard modes delegate to PyTorch's fused kernels.

PyTorch's transforms: every function (and every module of :mod:`reglab.nn`) works under
``torch.func.vmap(..., randomness="different")`` (each member draws its own mask: masks are
allocated from the input, so they are batched), ``torch.func.functional_call`` and
``torch.compile(fullgraph=True)`` with ``generator=None``. An explicit ``generator=`` cannot be
compiled with ``fullgraph=True``: Dynamo (PyTorch 2.13) has no proxy for a ``torch.Generator``
argument and breaks the graph there; compile without ``fullgraph`` or draw from the global RNG.
``torch.jit.script`` is not supported: the keyword-only ``training``/``generator`` arguments of
this API are outside TorchScript's subset (and TorchScript is deprecated in favour of
``torch.compile``/``torch.export``).
"""

from __future__ import annotations

from reglab.functional.alpha_dropout import alpha_dropout
from reglab.functional.drop_block import drop_block, drop_block_gamma
from reglab.functional.drop_connect import drop_connect_linear
from reglab.functional.drop_path import drop_path, drop_path_rates
from reglab.functional.dropout import dropout, spatial_dropout
from reglab.functional.gaussian_dropout import gaussian_dropout
from reglab.functional.locked_dropout import locked_dropout
from reglab.functional.noise import (
    add_gradient_noise_,
    gaussian_noise,
    gradient_noise_std,
    weight_noise,
)

__all__ = [
    "dropout",
    "spatial_dropout",
    "gaussian_dropout",
    "alpha_dropout",
    "locked_dropout",
    "drop_connect_linear",
    "drop_path",
    "drop_path_rates",
    "drop_block",
    "drop_block_gamma",
    "gaussian_noise",
    "weight_noise",
    "add_gradient_noise_",
    "gradient_noise_std",
]
