"""The model registry: ``build(name, input_shape, num_classes, **options)``."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from reglab._validate import check_int, format_choices
from reglab.errors import invalid_argument
from reglab.models.autoencoder import Autoencoder
from reglab.models.cnn import CNN1d, CNN2d
from reglab.models.linear_head import LinearHead
from reglab.models.lstm import LSTMClassifier
from reglab.models.mlp import MLP
from reglab.models.resnet import ResNet
from reglab.models.transformer import Transformer
from reglab.models.user import build_user, is_user_model

#: How a user's model is named, for messages.
USER_FORM = "an import string 'package.module:factory'"

__all__ = ["MODELS", "USER_FORM", "ModelEntry", "build", "available", "count_parameters", "options_of"]


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its class, one line on it, and the datasets its defaults fit."""

    cls: type[nn.Module]
    description: str
    fits: tuple[str, ...]


MODELS: dict[str, ModelEntry] = {
    "mlp": ModelEntry(MLP, "fully connected net (default 2 x 100: the MNIST-1D authors' MLP)",
                      ("mnist1d", "digits", "breast_cancer", "wine", "diabetes", "moons", "circles",
                       "spirals", "xor", "blobs", "mnist5k", "boston", "mnist", "fashion_mnist")),
    "cnn1d": ModelEntry(CNN1d, "1-D convnet, 3 x 25 channels (the MNIST-1D authors' CNN)", ("mnist1d",)),
    "cnn2d": ModelEntry(CNN2d, "small VGG-style convnet with spatial dropout",
                        ("digits", "mnist5k", "mnist", "fashion_mnist", "cifar10")),
    "resnet": ModelEntry(ResNet, "CIFAR-style ResNet-14 with BatchNorm and DropPath",
                         ("digits", "mnist5k", "mnist", "fashion_mnist", "cifar10")),
    "transformer": ModelEntry(Transformer, "pre-LN Transformer encoder classifier",
                              ("mnist1d", "digits", "mnist5k", "mnist", "fashion_mnist", "cifar10")),
    "lstm": ModelEntry(LSTMClassifier, "stacked LSTM/GRU with locked dropout",
                       ("mnist1d", "digits", "mnist5k", "mnist", "fashion_mnist")),
    "autoencoder": ModelEntry(Autoencoder, "fully connected autoencoder (anomaly score = reconstruction error)",
                              ("mnist1d", "digits", "breast_cancer", "wine", "mnist5k")),
    "linear_head": ModelEntry(LinearHead, "dropout + linear classifier on frozen embeddings", ()),
}


def available() -> list[str]:
    """The names :func:`build` accepts, in registry order."""
    return list(MODELS)


def options_of(name: str) -> dict[str, Any]:
    """The options of model ``name`` and their defaults (keyword-only ``__init__`` arguments)."""
    entry = _entry(name)
    params = inspect.signature(entry.cls.__init__).parameters
    return {p.name: p.default for p in params.values() if p.kind is p.KEYWORD_ONLY}


def _entry(name: Any) -> ModelEntry:
    if name not in MODELS:
        raise ValueError(invalid_argument(
            "name", f"one of {format_choices(MODELS)}, a registered model or {USER_FORM}", name))
    return MODELS[name]


def build(
    name: str | Callable[..., nn.Module], input_shape: Sequence[int], num_classes: int, *, seed: int | None = None, **options: Any
) -> nn.Module:
    """Build reference model ``name`` for inputs of ``input_shape`` and ``num_classes`` outputs.

    Every model accepts ``dropout: float = 0.0`` (0 adds no dropout module, so the baseline is
    exactly unregularized); ``resnet`` and ``transformer`` accept ``drop_path: float = 0.0``
    (linear depth rule); ``cnn1d``/``cnn2d`` accept ``spatial_dropout``. See each class for its
    options and defaults: :class:`MLP`, :class:`CNN1d`, :class:`CNN2d`, :class:`ResNet`,
    :class:`Transformer`, :class:`LSTMClassifier`, :class:`Autoencoder`, :class:`LinearHead`.

    Args:
        name: one of :func:`available`, an import string ``"package.module:factory"``, a name
            given to :func:`reglab.models.register`, or the factory itself (see
            :mod:`reglab.models.user`; options go to the factory, and ``output=`` names the
            output entry holding the logits).
        input_shape: shape of one input (``info.input_shape`` of a loaded dataset).
        num_classes: outputs (``info.num_classes``).
        seed: seed the initial weights without touching the global RNG; None uses the global RNG.
            Defaults to None.
        **options: the model's options.

    >>> count_parameters(build("mlp", (40,), 10))
    15210
    """
    if callable(name) or (isinstance(name, str) and is_user_model(name)):
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(check_int("seed", seed, low=0))
            return build_user(name, input_shape, num_classes, **options)
    entry = _entry(name)
    known = options_of(name)
    for key, value in options.items():
        if key not in known:
            raise ValueError(
                invalid_argument(key, f"an option of model {name!r}: {format_choices(known)}", value)
            )
    if seed is None:
        return entry.cls(input_shape, num_classes, **options)
    check_int("seed", seed, low=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return entry.cls(input_shape, num_classes, **options)


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameters of ``model`` (only those with ``requires_grad`` if ``trainable_only``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
