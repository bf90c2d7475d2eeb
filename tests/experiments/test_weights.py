"""weight_histogram: counts against numpy, sparsity and norms by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from reglab.analysis import weight_histogram


def test_histogram_of_known_weights():
    w = torch.tensor([[-1.0, 0.0, 0.0005, 1.0], [0.5, -0.5, 0.25, 0.0]])
    bias = torch.tensor([100.0, 100.0])  # dim 1: excluded
    h = weight_histogram([w, bias], bins=4)
    assert h["edges"] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    counts, _ = np.histogram(w.numpy().ravel(), bins=4, range=(-1, 1))
    assert h["counts"] == counts.tolist() == [1, 1, 4, 2]
    assert h["n"] == 8
    assert h["near_zero"] == pytest.approx(3 / 8)
    assert h["abs_mean"] == pytest.approx(3.2505 / 8)
    assert h["l2_norm"] == pytest.approx(math.sqrt(2.5 + 0.0625 + 0.0005**2))


def test_module_parameters_dim_ge_2_only():
    torch.manual_seed(0)
    layer = torch.nn.Linear(5, 3)
    h = weight_histogram(layer, bins=10)
    assert h["n"] == 15 and sum(h["counts"]) == 15 and len(h["edges"]) == 11
    assert h["edges"][-1] == pytest.approx(float(layer.weight.detach().abs().max()))


def test_no_weight_matrix_is_rejected():
    with pytest.raises(ValueError) as exc:
        weight_histogram([torch.zeros(3)])
    assert str(exc.value) == (
        "Invalid value for argument `source`. Expected a model or tensors with at least one "
        "weight of dim >= 2. Received: 1 tensors, none with dim >= 2"
    )
    with pytest.raises(ValueError) as exc:
        weight_histogram([torch.zeros(2, 2)], bins=1)
    assert str(exc.value) == "Invalid value for argument `bins`. Expected an integer >= 2. Received: bins=1"
