"""Which modules are random in training: the set MC dropout switches on at test time."""

from __future__ import annotations

from torch import nn

from reglab.nn.alpha_dropout import AlphaDropout
from reglab.nn.drop_block import DropBlock2d
from reglab.nn.drop_connect import DropConnect
from reglab.nn.drop_path import DropPath
from reglab.nn.dropout import Dropout, SpatialDropout
from reglab.nn.gaussian_dropout import GaussianDropout
from reglab.nn.locked_dropout import LockedDropout
from reglab.nn.noise import GaussianNoise, WeightNoise

__all__ = ["is_stochastic", "STOCHASTIC_TYPES", "DROPOUT_FAMILY"]

#: Modules that drop or rescale units with a rate ``p`` (what ``set_dropout_rate`` changes).
DROPOUT_FAMILY: tuple[type[nn.Module], ...] = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
    Dropout,
    SpatialDropout,
    GaussianDropout,
    AlphaDropout,
    LockedDropout,
    DropConnect,
)

#: Every module whose training forward is random.
STOCHASTIC_TYPES: tuple[type[nn.Module], ...] = DROPOUT_FAMILY + (
    DropPath,
    DropBlock2d,
    GaussianNoise,
    WeightNoise,
)


def is_stochastic(module: nn.Module) -> bool:
    """True when ``module`` itself draws random numbers in training mode.

    True for reglab's dropout-family and noise modules (``Dropout``, ``SpatialDropout``,
    ``GaussianDropout``, ``AlphaDropout``, ``LockedDropout``, ``DropConnect``, ``DropPath``,
    ``DropBlock2d``, ``GaussianNoise``, ``WeightNoise``) and for torch's ``nn.Dropout``,
    ``nn.Dropout1d/2d/3d``, ``nn.AlphaDropout`` and ``nn.FeatureAlphaDropout``. Containers are
    not inspected: use ``any(is_stochastic(m) for m in model.modules())`` for a whole model.
    MC dropout (Gal & Ghahramani 2016) puts exactly these modules in training mode at test time;
    set ``module.training = True`` rather than calling ``module.train()``, which would also switch
    the module wrapped by a ``WeightNoise`` (a BatchNorm inside it, say) to training mode.
    """
    return isinstance(module, STOCHASTIC_TYPES)
