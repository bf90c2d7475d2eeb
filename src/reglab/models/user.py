"""The user's own model: an import string, a registered callable, and the logits of its output.

A model that reglab did not build is named in one of two ways:

* an import string ``"package.module:factory"`` (as uvicorn takes ``module:app``), in the CLI
  (``--model examples.your_model:build``) or in TOML (``[model] factory = "..."`` or
  ``name = "..."``). The current directory is put on ``sys.path`` first, so a file next to the
  command (``examples/your_model.py``) imports as ``examples.your_model``;
* a name given to :func:`register` in this process (from a notebook: no file needed).

The factory is called as ``factory(input_shape, num_outputs, **options)`` (``num_outputs``: the
number of classes, 1 for regression; ``options``: ``[model.options]``), or with no argument
when its signature takes none. It must return an ``nn.Module``.

Outputs. ``forward`` may return a tensor (the logits), a tuple or list (its first element), a
dict (its ``"logits"`` entry, else its only tensor value) or an object with a ``logits``
attribute (a Hugging Face ``ModelOutput``). ``output="key"`` (``[model] output``,
``--model-output``) names the entry or attribute instead. When the output is not a plain tensor,
:func:`build_user` wraps the model once in :class:`LogitsOf`, so the Trainer, evaluation and MC
dropout all see logits.

Worker processes. An import string is imported again in each worker. A registered factory is
sent to the workers when it is a module-level function of an importable module; a lambda, a
closure or a function defined in ``__main__`` cannot be sent, and the study then trains its runs
in the calling process, one after another (the runner's line says so). The Ray runner needs an
import string.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pickle
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from reglab.errors import ConfigError, invalid_argument

__all__ = [
    "register", "unregister", "registered", "is_user_model", "load_factory", "build_user",
    "LogitsOf", "logits_of", "check_output", "in_process_reason",
]

_REGISTERED: dict[str, Callable[..., Any]] = {}
_IMPORT_FORM = "an import string 'package.module:factory'"


def register(name: str, factory: Callable[..., Any]) -> str:
    """Register ``factory`` under ``name`` for this process; studies then take ``model.name=name``.

    Args:
        name: the model name used in configs (``ModelSpec(name=...)``); not a built-in model's
            name and without ``':'``.
        factory: ``factory(input_shape, num_outputs, **options)`` or ``factory()``, returning an
            ``nn.Module``.

    Returns:
        ``name``.

    >>> from torch import nn
    >>> register("tiny", lambda shape, n: nn.Linear(shape[0], n))
    'tiny'
    >>> unregister("tiny")
    """
    from reglab.models.registry import MODELS

    if not isinstance(name, str) or not name or ":" in name or name in MODELS:
        raise ValueError(invalid_argument(
            "name", "a non-empty name without ':' that is not a built-in model's", name))
    if not callable(factory):
        raise TypeError(invalid_argument("factory", "a callable returning an nn.Module", factory))
    _REGISTERED[name] = factory
    return name


def unregister(name: str) -> None:
    """Forget a registered factory (no error when ``name`` is not registered)."""
    _REGISTERED.pop(name, None)


def registered() -> dict[str, Callable[..., Any]]:
    """The factories registered in this process, by name (a copy)."""
    return dict(_REGISTERED)


def is_user_model(name: str) -> bool:
    """Whether ``name`` is an import string or a registered factory (not a built-in model)."""
    return ":" in name or name in _REGISTERED


def load_factory(name: str) -> Callable[..., Any]:
    """The factory named by an import string or a :func:`register` name.

    Raises:
        ConfigError: a malformed import string, a module that cannot be imported, a missing
            attribute, or an attribute that is not callable.
    """
    if name in _REGISTERED:
        return _REGISTERED[name]
    module_name, sep, attr = name.partition(":")
    if not sep:  # e.g. a name registered in another process (Ray workers do not receive them)
        raise ConfigError(invalid_argument(
            "model", f"a name registered with reglab.models.register in this process or {_IMPORT_FORM}", name))
    if not module_name or not attr:
        raise ConfigError(invalid_argument("model", _IMPORT_FORM, name))
    cwd = os.getcwd()
    if cwd not in sys.path:  # as uvicorn does: a module next to the command imports
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise ConfigError(invalid_argument(
                "model", f"{_IMPORT_FORM} whose module can be imported (no module named {exc.name!r})", name
            )) from None
        raise ConfigError(invalid_argument(
            "model", f"{_IMPORT_FORM} whose module imports without error (importing {module_name!r} "
            f"raised {type(exc).__name__}: {exc})", name)) from None
    except Exception as exc:  # noqa: BLE001 - the user's module failed: say how, in one line
        raise ConfigError(invalid_argument(
            "model", f"{_IMPORT_FORM} whose module imports without error (importing {module_name!r} "
            f"raised {type(exc).__name__}: {exc})", name)) from None
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ConfigError(invalid_argument(
                "model", f"{_IMPORT_FORM} naming an attribute of the module (module {module_name!r} "
                f"has no attribute {attr!r})", name))
        target = getattr(target, part)
    if not callable(target):
        raise ConfigError(invalid_argument(
            "model", f"{_IMPORT_FORM} naming a callable (got {type(target).__name__})", name))
    return target  # type: ignore[no-any-return]


def _takes_no_argument(factory: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: call with the arguments
        return False
    return not any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
                   for p in params)


def build_user(name: str | Callable[..., Any], input_shape: Sequence[int], num_outputs: int, *,
               output: str | None = None, **options: Any) -> nn.Module:
    """Call the factory ``name`` and return its model (its output wrapped when needed).

    Args:
        name: an import string, a :func:`register` name, or the factory itself.
        input_shape: shape of one input.
        num_outputs: classes (1 for regression).
        output: the entry or attribute of the forward's output that holds the logits. Defaults to
            None: the module docstring's rule.
        **options: passed to the factory.

    Raises:
        ConfigError: the factory cannot be found, raises, returns something other than an
            ``nn.Module``, or takes no argument while options were given.
    """
    factory = name if callable(name) else load_factory(name)
    if callable(name):
        name = getattr(name, "__qualname__", type(name).__name__)
    no_args = _takes_no_argument(factory)
    if no_args and options:
        raise ConfigError(invalid_argument(
            "model.options", f"no options for {name!r} (its factory takes no argument)", dict(options)))
    try:
        model = factory() if no_args else factory(tuple(input_shape), int(num_outputs), **options)
    except Exception as exc:  # noqa: BLE001 - the user's code failed: say how, in one line
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ConfigError(invalid_argument(
            "model", "a factory that builds the model (calling it raised "
            f"{type(exc).__name__}{': ' + message if message else ''})", name)) from None
    if not isinstance(model, nn.Module):
        raise ConfigError(invalid_argument(
            "model", f"a factory returning a torch.nn.Module (it returned {type(model).__name__})", name))
    return LogitsOf(model, output) if output is not None else model


def logits_of(out: Any, key: str | None = None) -> torch.Tensor:
    """The logits in a forward's output, by the rule of the module docstring (or ``key``).

    Raises:
        ValueError: no tensor is found by the rule, or ``key`` names no entry/attribute.
    """
    if isinstance(out, torch.Tensor) and key is None:
        return out
    if key is not None:
        found = out.get(key) if isinstance(out, Mapping) else getattr(out, key, None)
        if isinstance(found, torch.Tensor):
            return found
        keys = list(out) if isinstance(out, Mapping) else [k for k in vars(out)] if hasattr(out, "__dict__") else []
        raise ValueError(invalid_argument(
            "model.output", f"the name of a tensor entry of the model's output (it has {keys})", key))
    if isinstance(out, Mapping):
        if isinstance(out.get("logits"), torch.Tensor):
            return out["logits"]
        tensors = [v for v in out.values() if isinstance(v, torch.Tensor)]
        if len(tensors) == 1:
            return tensors[0]
        raise ValueError(invalid_argument(
            "model.output", "a dict output with a 'logits' entry or exactly one tensor (or name the "
            "entry: --model-output KEY)", None, shown=f"an output with keys {list(out)}"))
    if isinstance(getattr(out, "logits", None), torch.Tensor):
        return out.logits  # type: ignore[no-any-return]
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise ValueError(invalid_argument(
        "model.output", "a tensor, a tuple whose first element is a tensor, a dict or an object "
        "with 'logits'", None, shown=f"an output of type {type(out).__name__}"))


def _rule(out: Any) -> str:
    """Which branch of :func:`logits_of` finds the logits in ``out`` (a sentence fragment)."""
    kind = type(out).__name__
    if isinstance(out, Mapping):
        if isinstance(out.get("logits"), torch.Tensor):
            return f"its forward returns a {kind}: the logits are its 'logits' entry"
        only = next(k for k, v in out.items() if isinstance(v, torch.Tensor))
        return f"its forward returns a {kind}: the logits are its only tensor entry {only!r}"
    if isinstance(getattr(out, "logits", None), torch.Tensor):
        return f"its forward returns a {kind}: the logits are its .logits"
    return f"its forward returns a {kind}: the logits are its first element"


class LogitsOf(nn.Module):
    """``logits_of(model(x), key)``: a model whose output holds its logits, seen as one tensor.

    Args:
        model: the wrapped model (its state dict keys gain a ``model.`` prefix).
        key: the output entry/attribute holding the logits. Defaults to None: the rule of
            :func:`logits_of`.
    """

    def __init__(self, model: nn.Module, key: str | None = None) -> None:
        super().__init__()
        self.model = model
        self.key = key
        #: how the logits are found, as a sentence fragment (set by :func:`check_output`)
        self.rule = f"the logits are its output's {key!r} entry (model.output)" if key is not None else (
            "the logits are taken from its output by the tuple/dict/ModelOutput rule")

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return logits_of(self.model(*args, **kwargs), self.key)

    def extra_repr(self) -> str:
        return f"key={self.key!r}" if self.key is not None else "key: logits rule"


def check_output(model: nn.Module, probe: torch.Tensor, num_outputs: int, task: str, name: str) -> nn.Module:
    """Run ``model`` on a probe batch (eval mode, no gradient, RNG untouched) and check its output.

    Returns ``model``, wrapped in :class:`LogitsOf` when its output is not a plain tensor.

    Raises:
        ConfigError: the forward raises, no logits are found, or their shape is not
            ``(batch, num_outputs)`` (``(batch,)`` is also accepted for regression).
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            out = model(probe)
    except Exception as exc:  # noqa: BLE001
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ConfigError(invalid_argument(
            "model", f"a model that runs on the data's inputs of shape {tuple(probe.shape[1:])} "
            f"(its forward raised {type(exc).__name__}{': ' + message if message else ''})", name)) from None
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor):
        try:
            logits_of(out)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        model = LogitsOf(model)
        model.rule = _rule(out)
        out = logits_of(out)
    n = probe.shape[0]
    expected = (n, num_outputs)
    ok = tuple(out.shape) == expected or (task != "classification" and num_outputs == 1 and tuple(out.shape) == (n,))
    if not ok:
        what = "classes" if task == "classification" else "outputs"
        raise ConfigError(invalid_argument(
            "model", f"a model whose output has shape (batch, {num_outputs}) for the data's "
            f"{num_outputs} {what}", name,
            shown=f"model={name!r} with output shape {tuple(out.shape)} for a batch of {n}"))
    return model


def _sendable(factory: Callable[..., Any]) -> bool:
    if getattr(factory, "__module__", None) == "__main__":
        return False
    try:
        pickle.dumps(factory)
    except Exception:  # noqa: BLE001 - lambdas, closures, local classes
        return False
    return True


def in_process_reason(names: Iterable[str]) -> str | None:
    """Why runs of these models must train in this process (a registered factory that cannot be
    sent to a worker process), or None."""
    for name in dict.fromkeys(names):
        factory = _REGISTERED.get(name)
        if factory is not None and not _sendable(factory):
            return (f"the registered model factory {name!r} cannot be sent to worker processes (a lambda, "
                    "a closure or a function of __main__): its runs train in this process, one after another")
    return None


def sendable_registered() -> bytes | None:
    """The registered factories that can be sent to worker processes, pickled (None: none)."""
    items = {k: v for k, v in _REGISTERED.items() if _sendable(v)}
    return pickle.dumps(items) if items else None


def receive_registered(blob: bytes | None) -> None:
    """Register, in a worker process, the factories :func:`sendable_registered` pickled."""
    if blob is not None:
        _REGISTERED.update(pickle.loads(blob))
