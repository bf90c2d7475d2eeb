"""A fully connected autoencoder for anomaly detection by reconstruction error."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from reglab._validate import check_int, check_probability
from reglab.models._common import check_input_shape, dropout_layers, numel
from reglab.registry import Configurable

__all__ = ["Autoencoder"]


class Autoencoder(nn.Module, Configurable):
    """Flatten, encode to ``latent`` units, decode back to the input's shape.

    Encoder ``depth`` x (``Linear(width) -> ReLU -> [Dropout]``) then ``Linear(latent)``; the
    decoder mirrors it and ends with a linear layer (inputs are standardised, so no squashing).
    Trained on normal data only, a high :meth:`reconstruction_error` flags anomalies (Sakurada &
    Yairi 2014, "Anomaly Detection Using Autoencoders with Nonlinear Dimensionality Reduction",
    MLSDA); dropout in the hidden layers regularizes it. ``num_classes`` is accepted for the
    uniform :func:`reglab.models.build` signature and not used: ``forward`` returns a tensor of
    the input's shape. Defaults (width 64, latent 8, depth 1) fit MNIST-1D and tabular sets.

    Args:
        input_shape: shape of one input.
        num_classes: not used (any integer >= 0).
        width: hidden units of each encoder/decoder layer. Defaults to 64.
        latent: bottleneck units. Defaults to 8.
        depth: hidden layers in the encoder (and in the decoder). Defaults to 1.
        dropout: dropout after each hidden activation, in [0, 1). Defaults to 0.0.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int = 0,
        *,
        width: int = 64,
        latent: int = 8,
        depth: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.input_shape = check_input_shape(
            "autoencoder", input_shape, range(1, 6), "a shape of 1 to 5 positive integers"
        )
        self.num_classes = check_int("num_classes", num_classes, low=0)
        self.width = check_int("width", width, low=1)
        self.latent = check_int("latent", latent, low=1)
        self.depth = check_int("depth", depth, low=0)
        self.dropout = check_probability("dropout", dropout, allow_one=False)
        d = numel(self.input_shape)
        enc: list[nn.Module] = [nn.Flatten()]
        fan_in = d
        for _ in range(self.depth):
            enc += [nn.Linear(fan_in, self.width), nn.ReLU(), *dropout_layers("dropout", dropout)]
            fan_in = self.width
        enc.append(nn.Linear(fan_in, self.latent))
        dec: list[nn.Module] = []
        fan_in = self.latent
        for _ in range(self.depth):
            dec += [nn.Linear(fan_in, self.width), nn.ReLU(), *dropout_layers("dropout", dropout)]
            fan_in = self.width
        dec.append(nn.Linear(fan_in, d))
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, *input_shape) -> (N, latent)``."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x)).reshape(x.shape)  # (N, *input_shape)

    def reconstruction_error(self, x: torch.Tensor) -> torch.Tensor:
        """Mean squared reconstruction error per sample, ``(N,)``: the anomaly score."""
        return (self(x) - x).pow(2).flatten(1).mean(dim=1)
