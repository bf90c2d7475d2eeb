"""Errors raised by reglab and the one message format they share.

Argument checks raise :class:`ValueError` (or :class:`TypeError` for a wrong type) with the
message built by :func:`invalid_argument`::

    Invalid value for argument `p`. Expected a number in [0, 1]. Received: p=1.5

Everything else the library refuses (a missing dataset file, a corrupt run store, a checkpoint
that does not match the model) raises a :class:`ReglabError` subclass whose message says what
went wrong, what was expected and what was found. The CLI prints either as one red line and exits
with code 2.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ReglabError",
    "ConfigError",
    "DataUnavailableError",
    "StoreError",
    "CheckpointError",
    "MissingExtraError",
    "invalid_argument",
]


class ReglabError(Exception):
    """Base class of the errors reglab raises on purpose (argument checks aside)."""


class ConfigError(ReglabError, ValueError):
    """A study/sweep configuration or run spec is invalid (unknown field, bad value, bad TOML)."""


class DataUnavailableError(ReglabError):
    """A dataset cannot be loaded here: a missing optional extra, no network, missing files."""


class StoreError(ReglabError):
    """The run store is unreadable, corrupt, foreign or not writable."""


class CheckpointError(ReglabError):
    """A checkpoint is missing, corrupt or does not match the model/optimizer it is loaded into."""


class MissingExtraError(ReglabError, ImportError):
    """An optional extra is not installed; the message names the extra and the pip command."""


def invalid_argument(name: str, expected: str, received: Any, *, shown: str | None = None) -> str:
    """Return the standard message for a rejected argument.

    Args:
        name: the argument's name, as the caller wrote it (``"p"``, ``"mode"``).
        expected: what was expected, as a phrase ("a number in [0, 1]", "one of 'a', 'b'").
        received: the value received; shown with ``repr``.
        shown: how to show the received value instead of ``name=repr(value)``,
            e.g. ``"input.ndim=2"``.

    >>> invalid_argument("p", "a number in [0, 1]", 1.5)
    'Invalid value for argument `p`. Expected a number in [0, 1]. Received: p=1.5'
    """
    got = shown if shown is not None else f"{name}={received!r}"
    return f"Invalid value for argument `{name}`. Expected {expected}. Received: {got}"
