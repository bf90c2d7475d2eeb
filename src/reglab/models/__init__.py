"""Small reference models for regularization studies, built by name.

``build(name, input_shape, num_classes, **options)``: ``mlp``, ``cnn1d``, ``cnn2d``, ``resnet``,
``transformer``, ``lstm``, ``autoencoder``, ``linear_head``. Every model accepts ``dropout``
(0 by default: no dropout module at all); ``resnet`` and ``transformer`` accept ``drop_path``.
``count_parameters(model)`` counts parameters.

A model of your own: ``build("package.module:factory", ...)`` or ``register(name, factory)``
then ``build(name, ...)`` (see :mod:`reglab.models.user`).
"""

from __future__ import annotations

from reglab.models.autoencoder import Autoencoder
from reglab.models.cnn import CNN1d, CNN2d
from reglab.models.linear_head import LinearHead
from reglab.models.lstm import LSTMClassifier
from reglab.models.mlp import MLP
from reglab.models.registry import MODELS, available, build, count_parameters, options_of
from reglab.models.resnet import ResNet
from reglab.models.transformer import Transformer
from reglab.models.user import LogitsOf, load_factory, register, registered, unregister

__all__ = [
    "build",
    "available",
    "count_parameters",
    "options_of",
    "register",
    "unregister",
    "registered",
    "load_factory",
    "LogitsOf",
    "MODELS",
    "MLP",
    "CNN1d",
    "CNN2d",
    "ResNet",
    "Transformer",
    "LSTMClassifier",
    "Autoencoder",
    "LinearHead",
]
