"""The technique registry: look techniques up by name, alias or spec field; register new ones.

``TECHNIQUES`` maps each name to its :class:`~reglab.techniques.technique.Technique`, in catalogue
order. :func:`register_technique` adds one (a plugin, or a test); every reader (study arms, sweep
fields, ``reglab techniques``, the report's settings text, the recommender, the vectorized runner's
support check) sees it at once.
"""

from __future__ import annotations

from typing import Any

from reglab._validate import format_choices
from reglab.errors import ConfigError, invalid_argument
from reglab.techniques.catalog import BUILTIN
from reglab.techniques.technique import Technique

__all__ = [
    "TECHNIQUES",
    "register_technique",
    "unregister_technique",
    "get_technique",
    "technique_for_field",
    "spec_fields",
    "sweep_fields",
    "log_scale_fields",
    "tunable",
    "field_value",
    "write_arm",
    "vectorized_problem",
]

TECHNIQUES: dict[str, Technique] = {}


def _names() -> dict[str, Technique]:
    names = dict(TECHNIQUES)
    for t in TECHNIQUES.values():
        for alias in t.aliases:
            names[alias] = t
    return names


def register_technique(technique: Technique) -> Technique:
    """Add ``technique``; its name and aliases must be new, and a field has one applying technique."""
    taken = _names()
    for name in (technique.name, *technique.aliases):
        if name in taken:
            raise ValueError(invalid_argument("name", "a technique name not yet registered", name))
    if technique.apply is not None and technique.field is not None:
        owner = technique_for_field(technique.field)
        if owner is not None:
            raise ValueError(invalid_argument(
                "field", f"a field no other technique applies ({owner.name!r} applies it)", technique.field))
    TECHNIQUES[technique.name] = technique
    return technique


def unregister_technique(name: str) -> None:
    """Remove a technique added by :func:`register_technique` (built-ins may not be removed)."""
    if any(t.name == name for t in BUILTIN):
        raise ValueError(invalid_argument("name", "a technique registered outside the catalogue", name))
    TECHNIQUES.pop(name, None)


def get_technique(name: str) -> Technique:
    """The technique called ``name`` (or an alias of it); unknown names list the known ones."""
    try:
        return _names()[name]
    except KeyError:
        raise ConfigError(
            invalid_argument("arms", f"technique names among {format_choices(TECHNIQUES)} or 'all'", name)
        ) from None


def technique_for_field(field: str) -> Technique | None:
    """The technique that applies the spec field ``field`` at train time (None: no such field)."""
    for t in TECHNIQUES.values():
        if t.field == field and t.apply is not None:
            return t
    return None


def spec_fields() -> tuple[str, ...]:
    """Every regularization field a technique applies, in catalogue order."""
    return tuple(t.field for t in TECHNIQUES.values() if t.field is not None and t.apply is not None)


def sweep_fields() -> tuple[str, ...]:
    """Scalar fields a sweep grid or ablation can vary, in catalogue order."""
    return tuple(t.field for t in TECHNIQUES.values() if t.sweepable and t.apply is not None)


def log_scale_fields() -> tuple[str, ...]:
    """Fields whose sweeps are plotted on a log axis (strengths spanning decades)."""
    return tuple(t.field for t in TECHNIQUES.values() if t.log_scale and t.apply is not None)


def tunable() -> tuple[str, ...]:
    """Names of the techniques ``reglab tune`` can search (those with a ``tune`` range)."""
    return tuple(t.name for t in TECHNIQUES.values() if t.tune is not None and t.apply is not None)


def field_value(regularization: Any, field: str, default: Any = None) -> Any:
    """The value of ``field`` in a ``RegularizationSpec`` (or its dict): a built-in attribute, else
    an entry of its ``custom`` table (techniques registered outside the catalogue)."""
    if isinstance(regularization, dict):
        if field in regularization:
            return regularization[field]
        return (regularization.get("custom") or {}).get(field, default)
    if field in type(regularization).model_fields:
        return getattr(regularization, field)
    return (getattr(regularization, "custom", None) or {}).get(field, default)


def write_arm(regularization: dict[str, Any], technique: Technique, value: Any) -> None:
    """Write ``technique`` at ``value`` into a regularization dict: its ``edit``, else its field
    (in the ``custom`` table when the field is not one of the catalogue's)."""
    if technique.edit is not None:
        technique.edit(regularization, value)
    elif technique.field in _BUILTIN_FIELDS:
        regularization[technique.field] = value
    else:
        regularization["custom"] = {**(regularization.get("custom") or {}), technique.field: value}


def vectorized_problem(spec: Any) -> str | None:
    """The first technique set in ``spec`` that the vectorized engine does not train, described
    (``"cutmix_alpha=1.0"``); None when every set technique is supported."""
    for t in TECHNIQUES.values():
        if t.field is None or t.apply is None:
            continue
        value = field_value(spec.regularization, t.field, t.off)
        if not t.vectorized and t.is_set(value):
            return t.describe(value, spec)
    return None


_BUILTIN_FIELDS = frozenset(t.field for t in BUILTIN if t.field is not None)
for _t in BUILTIN:
    register_technique(_t)
