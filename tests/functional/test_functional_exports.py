"""The public names of reglab.functional and reglab.nn."""

from __future__ import annotations

import inspect

import reglab.functional as RF
import reglab.nn as RN


def test_functional_exports():
    assert sorted(RF.__all__) == sorted([
        "dropout", "spatial_dropout", "gaussian_dropout", "alpha_dropout", "locked_dropout",
        "drop_connect_linear", "drop_path", "drop_path_rates", "drop_block", "drop_block_gamma",
        "gaussian_noise", "weight_noise", "add_gradient_noise_", "gradient_noise_std",
    ])
    assert all(callable(getattr(RF, name)) for name in RF.__all__)


def test_nn_exports():
    assert sorted(RN.__all__) == sorted([
        "Dropout", "SpatialDropout", "GaussianDropout", "AlphaDropout", "LockedDropout", "DropConnect",
        "DropPath", "DropBlock2d", "GaussianNoise", "WeightNoise", "is_stochastic", "DROPOUT_FAMILY",
        "STOCHASTIC_TYPES",
    ])


def test_every_tensor_function_takes_keyword_only_training_and_generator():
    for name in ("dropout", "spatial_dropout", "gaussian_dropout", "alpha_dropout", "locked_dropout",
                 "drop_connect_linear", "drop_path", "drop_block", "gaussian_noise", "weight_noise"):
        params = inspect.signature(getattr(RF, name)).parameters
        assert params["training"].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert params["training"].default is inspect.Parameter.empty, name
        assert params["generator"].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert params["generator"].default is None, name
        assert "Defaults to" in getattr(RF, name).__doc__, name
