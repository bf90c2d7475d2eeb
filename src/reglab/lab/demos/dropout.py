"""Demo 2, dropout: real masks from ``reglab.functional.dropout`` over a small drawn network.

Each hidden unit is kept with probability ``1 - p`` (Srivastava et al. 2014, "Dropout: A Simple
Way to Prevent Neural Networks from Overfitting", JMLR 15). With inverted scaling the kept units
are multiplied by ``1 / (1 - p)`` in training and nothing happens at inference; with the paper's
classic scaling training does not scale and inference multiplies by ``1 - p``. Either way the
expected training activation equals the inference activation, which the expectation panel shows
by averaging ``samples`` masks.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from reglab.lab.demos.common import clean
from reglab.lab.schemas import DropoutMaskQuery

__all__ = ["mask_payload"]


def mask_payload(q: DropoutMaskQuery) -> dict[str, Any]:
    """One mask per hidden layer (inputs and outputs are never dropped) and the expectation panel.

    ``layers[i]["value"]`` is dropout applied to an all-ones activation: 0 for a dropped unit,
    the training/inference scale otherwise. The panel's activation is ``a_j = 0.2 + 0.8 j/(n-1)``
    over the first hidden layer's ``n`` units; ``train_mean`` averages ``samples`` independent
    training-mode outputs (``train_stderr`` its standard error) and ``inference`` is the
    inference-mode output, which the mean matches within a few standard errors.
    """
    from reglab.functional import dropout

    sizes = q.sizes()
    generator = torch.Generator().manual_seed(q.seed)
    training = q.mode == "train"
    layers = []
    for i, n in enumerate(sizes):
        hidden = 0 < i < len(sizes) - 1
        if hidden:
            value = dropout(torch.ones(n), q.p, q.scaling, training=training, generator=generator)
        else:
            value = torch.ones(n)
        layers.append({
            "units": n,
            "hidden": hidden,
            "kept": (value != 0).tolist(),
            "value": clean(value),
        })
    n = sizes[1] if len(sizes) > 2 else sizes[0]
    activation = torch.linspace(0.2, 1.0, n) if n > 1 else torch.ones(1)
    panel_gen = torch.Generator().manual_seed(q.seed + 1)
    batch = activation.expand(q.samples, n).contiguous()
    train_out = dropout(batch, q.p, q.scaling, training=True, generator=panel_gen)
    inference = dropout(activation, q.p, q.scaling, training=False)
    kept = float((train_out != 0).float().mean())
    return {
        "p": q.p,
        "mode": q.mode,
        "scaling": q.scaling,
        "seed": q.seed,
        "train_scale": (1.0 / (1.0 - q.p)) if q.scaling == "inverted" else 1.0,
        "inference_scale": 1.0 if q.scaling == "inverted" else 1.0 - q.p,
        "layers": layers,
        "dropped": sum(len(l["kept"]) - sum(l["kept"]) for l in layers),
        "panel": clean({
            "activation": activation,
            "train_mean": train_out.mean(dim=0),
            "train_stderr": train_out.std(dim=0) / math.sqrt(q.samples),
            "inference": inference,
            "samples": q.samples,
            "kept_fraction": kept,
        }),
    }
