"""Apply regularizers to an existing model: find dropout modules, change their rate, insert more.

>>> from torch import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> model = insert_dropout(model, 0.2)
>>> set_dropout_rate(model, 0.1)
1
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn

from reglab._validate import check_choice, check_probability
from reglab.errors import invalid_argument
from reglab.functional.dropout import DROPOUT_MODES
from reglab.nn import AlphaDropout, Dropout, GaussianDropout
from reglab.nn.stochastic import DROPOUT_FAMILY

__all__ = ["DropoutAfter", "dropout_modules", "set_dropout_rate", "insert_dropout"]

# reglab modules whose rate must stay below 1 (their math divides by 1 - p or needs p < 1).
_RATE_BELOW_ONE = (GaussianDropout, AlphaDropout)


class DropoutAfter(nn.Sequential):
    """``nn.Sequential(module, dropout)`` made by :func:`insert_dropout` (so it can recognise it)."""


def _check_types(name: str, types: object) -> tuple[type[nn.Module], ...]:
    if isinstance(types, type):
        types = (types,)
    if (
        not isinstance(types, Iterable)
        or isinstance(types, str)
        or not (types := tuple(types))  # type: ignore[assignment]
        or not all(isinstance(t, type) and issubclass(t, nn.Module) for t in types)
    ):
        raise ValueError(invalid_argument(name, "a non-empty tuple of torch.nn.Module subclasses", types))
    return types  # type: ignore[return-value]


def dropout_modules(
    model: nn.Module, types: Iterable[type[nn.Module]] | None = None
) -> list[tuple[str, nn.Module]]:
    """``(qualified name, module)`` of every dropout-family module in ``model`` (itself included).

    Args:
        model: any module.
        types: the module classes to find. Defaults to None: ``reglab.nn.DROPOUT_FAMILY`` —
            torch's ``nn.Dropout``, ``Dropout1d/2d/3d``, ``AlphaDropout``, ``FeatureAlphaDropout``
            and reglab's ``Dropout``, ``SpatialDropout``, ``GaussianDropout``, ``AlphaDropout``,
            ``LockedDropout``, ``DropConnect``. ``DropPath`` and ``DropBlock2d`` have their own
            per-depth/ramped rates and are only included when named here.
    """
    wanted = DROPOUT_FAMILY if types is None else _check_types("types", types)
    return [(name, module) for name, module in model.named_modules() if isinstance(module, wanted)]


def set_dropout_rate(
    model: nn.Module, p: float, types: Iterable[type[nn.Module]] | None = None
) -> int:
    """Set ``p`` on every dropout-family module of ``model``; return how many were changed.

    Used by rate schedules (e.g. early dropout, DropBlock's linear ramp). The rate is checked
    against every module first, so either all modules change or none: ``p = 1`` is refused when
    the model holds a ``GaussianDropout`` or ``AlphaDropout`` (their rate must be below 1).

    Args:
        model: any module.
        p: the new rate, in [0, 1].
        types: which module classes to change; see :func:`dropout_modules`. Defaults to None
            (the dropout family).
    """
    p = check_probability("p", p)
    found = [module for _, module in dropout_modules(model, types)]
    if p == 1.0 and any(isinstance(m, _RATE_BELOW_ONE) for m in found):
        check_probability("p", p, allow_one=False)
    for module in found:
        module.p = p
    return len(found)


def insert_dropout(
    model: nn.Module,
    p: float,
    after: Iterable[type[nn.Module]] = (nn.ReLU, nn.GELU),
    mode: str = "inverted",
) -> nn.Module:
    """Put a :class:`reglab.nn.Dropout` after every activation module of the given types.

    Each matching child is replaced, in place, by ``DropoutAfter(activation, Dropout(p, mode))``.
    Activations already followed by a dropout-family module in an ``nn.Sequential``, and those
    wrapped by an earlier call, are left alone, so calling it twice inserts nothing new (change
    rates with :func:`set_dropout_rate`). Activations applied as functions in ``forward``
    (``F.relu``) are invisible to it. The state dict of a wrapped module gains a ``.0`` in its
    keys, so wrap only parameter-free modules if checkpoints must still load.

    Args:
        model: the model to modify (modified in place and returned).
        p: the dropout rate, in [0, 1].
        after: the activation classes to follow. Defaults to ``(nn.ReLU, nn.GELU)``.
        mode: ``"inverted"`` or ``"classic"`` (see :func:`reglab.functional.dropout`).
            Defaults to ``"inverted"``.

    Returns:
        ``model`` (or a new ``DropoutAfter`` when ``model`` itself is such an activation).
    """
    p = check_probability("p", p)
    mode = check_choice("mode", mode, DROPOUT_MODES)
    after = _check_types("after", after)
    if isinstance(model, after):
        return DropoutAfter(model, Dropout(p, mode))
    _insert(model, p, after, mode)
    return model


def _insert(parent: nn.Module, p: float, after: tuple[type[nn.Module], ...], mode: str) -> None:
    children = list(parent.named_children())
    for i, (name, child) in enumerate(children):
        if isinstance(child, DropoutAfter):
            continue
        if isinstance(child, after):
            followed = (
                isinstance(parent, nn.Sequential)
                and i + 1 < len(children)
                and isinstance(children[i + 1][1], DROPOUT_FAMILY)
            )
            if not followed:
                setattr(parent, name, DropoutAfter(child, Dropout(p, mode)))
        else:
            _insert(child, p, after, mode)
