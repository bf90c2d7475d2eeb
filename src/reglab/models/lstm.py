"""A stacked LSTM (or GRU) classifier with locked (variational) dropout between layers."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from reglab._validate import check_choice, check_int, check_probability
from reglab.models._common import check_input_shape, check_num_classes
from reglab.nn import LockedDropout
from reglab.registry import Configurable

__all__ = ["LSTMClassifier"]


class LSTMClassifier(nn.Module, Configurable):
    """Stacked single-layer LSTMs with locked dropout between them (AWD-LSTM style).

    Sequences: ``(L,)`` inputs (MNIST-1D, tabular) are ``L`` steps of one value; ``(T, F)`` are
    ``T`` steps of ``F`` values; images ``(C, H, W)`` are ``H`` steps of the ``C * W`` values of a
    row. With ``dropout > 0`` a :class:`reglab.nn.LockedDropout` (one mask per sequence, the same
    at every step: Gal & Ghahramani 2016, arXiv:1512.05287; Merity et al. 2018,
    arXiv:1708.02182) acts on the output of every layer, the last one included; it is absent at 0.
    The head reads the last step (and, when bidirectional, the backward direction's first step).
    ``cell="gru"`` swaps in GRUs (the MNIST-1D paper's recurrent baseline). The defaults (2 layers
    of 64) fit MNIST-1D.

    Args:
        input_shape: ``(L,)``, ``(T, F)`` or ``(C, H, W)``.
        num_classes: outputs.
        hidden: hidden units per layer and direction. Defaults to 64.
        layers: stacked recurrent layers. Defaults to 2.
        dropout: locked dropout rate, in [0, 1). Defaults to 0.0.
        bidirectional: run each layer both ways. Defaults to False.
        cell: ``"lstm"`` or ``"gru"``. Defaults to ``"lstm"``.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        hidden: int = 64,
        layers: int = 2,
        dropout: float = 0.0,
        bidirectional: bool = False,
        cell: str = "lstm",
    ) -> None:
        super().__init__()
        self.input_shape = check_input_shape("lstm", input_shape, (1, 2, 3), "(L,), (T, F) or (C, H, W)")
        self.num_classes = check_num_classes(num_classes)
        self.hidden = check_int("hidden", hidden, low=1)
        self.layers = check_int("layers", layers, low=1)
        self.dropout = check_probability("dropout", dropout, allow_one=False)
        self.bidirectional = check_choice("bidirectional", bidirectional, (False, True))
        self.cell = check_choice("cell", cell, ("lstm", "gru"))
        shape = self.input_shape
        features = {1: 1, 2: shape[-1], 3: shape[0] * shape[-1]}[len(shape)]
        rnn_cls = nn.LSTM if self.cell == "lstm" else nn.GRU
        dirs = 2 if self.bidirectional else 1
        self.rnns = nn.ModuleList()
        self.drops = nn.ModuleList()
        for _ in range(self.layers):
            self.rnns.append(rnn_cls(features, self.hidden, batch_first=True, bidirectional=self.bidirectional))
            if self.dropout > 0:
                self.drops.append(LockedDropout(self.dropout, batch_first=True))
            features = self.hidden * dirs
        self.head = nn.Linear(features, self.num_classes)

    def sequence(self, x: torch.Tensor) -> torch.Tensor:
        """Inputs ``(N, *input_shape)`` as sequences ``(N, T, F)``."""
        if x.dim() == 2:
            return x.unsqueeze(-1)  # (N, L, 1)
        if x.dim() == 4:
            n, c, h, w = x.shape
            return x.permute(0, 2, 1, 3).reshape(n, h, c * w)  # rows as steps
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.sequence(x)
        for i, rnn in enumerate(self.rnns):
            z, _ = rnn(z)  # (N, T, H * dirs)
            if self.dropout > 0:
                z = self.drops[i](z)
        if self.bidirectional:
            last = torch.cat([z[:, -1, : self.hidden], z[:, 0, self.hidden :]], dim=1)
        else:
            last = z[:, -1]
        return self.head(last)  # (N, num_classes)
