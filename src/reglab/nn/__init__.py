"""``torch.nn.Module`` wrappers of :mod:`reglab.functional`, buildable by name.

Each module validates its arguments in ``__init__``, stores them under their own names
(``get_config()``/``from_config()`` round-trip), calls its function with ``self.training`` in
``forward``, and is registered: ``reglab.get("drop_path", p=0.1)``. Modules draw from the global
RNG (seed it with ``torch.manual_seed``); the functions also take a ``torch.Generator``.

Every module works under ``torch.func.vmap(randomness="different")``, ``functional_call`` (also
``WeightNoise``, whose weights may be replaced) and ``torch.compile(fullgraph=True)``. None can be
``torch.jit.script``-ed (use ``torch.compile`` or ``torch.export``), for these reasons:

- ``Dropout``, ``SpatialDropout``, ``GaussianDropout``, ``AlphaDropout``, ``LockedDropout``,
  ``DropConnect``, ``DropPath``, ``DropBlock2d``, ``GaussianNoise``: ``forward`` calls a
  :mod:`reglab.functional` function whose ``training``/``generator`` arguments are keyword-only,
  which TorchScript rejects ("keyword-only arguments with defaults").
- ``WeightNoise``: the same, and its ``forward(*args, **kwargs)`` and ``torch.func.functional_call``
  are outside TorchScript's subset.
"""

from __future__ import annotations

from reglab.nn.alpha_dropout import AlphaDropout
from reglab.nn.drop_block import DropBlock2d
from reglab.nn.drop_connect import DropConnect
from reglab.nn.drop_path import DropPath
from reglab.nn.dropout import Dropout, SpatialDropout
from reglab.nn.gaussian_dropout import GaussianDropout
from reglab.nn.locked_dropout import LockedDropout
from reglab.nn.noise import GaussianNoise, WeightNoise
from reglab.nn.stochastic import DROPOUT_FAMILY, STOCHASTIC_TYPES, is_stochastic

__all__ = [
    "Dropout",
    "SpatialDropout",
    "GaussianDropout",
    "AlphaDropout",
    "LockedDropout",
    "DropConnect",
    "DropPath",
    "DropBlock2d",
    "GaussianNoise",
    "WeightNoise",
    "is_stochastic",
    "DROPOUT_FAMILY",
    "STOCHASTIC_TYPES",
]
