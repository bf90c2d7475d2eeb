import pytest
import torch

from reglab._validate import (
    check_choice,
    check_int,
    check_ndim,
    check_non_negative,
    check_positive,
    check_probability,
    check_range,
)
from reglab.errors import invalid_argument


def test_message_format():
    assert invalid_argument("p", "a number in [0, 1]", 1.5) == (
        "Invalid value for argument `p`. Expected a number in [0, 1]. Received: p=1.5"
    )


@pytest.mark.parametrize("value", [0, 0.0, 0.5, 1, 1.0])
def test_probability_accepts(value):
    assert check_probability("p", value) == float(value)


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), True, "0.5", None])
def test_probability_rejects_with_full_message(value):
    with pytest.raises(ValueError) as exc:
        check_probability("p", value)
    assert str(exc.value) == f"Invalid value for argument `p`. Expected a number in [0, 1]. Received: p={value!r}"


def test_probability_without_one():
    with pytest.raises(ValueError, match=r"^Invalid value for argument `p`\. Expected a number in \[0, 1\)\. Received: p=1$"):
        check_probability("p", 1, allow_one=False)


def test_range_open_and_unbounded():
    assert check_positive("lr", 1e-3) == 1e-3
    with pytest.raises(ValueError) as exc:
        check_positive("lr", 0.0)
    assert str(exc.value) == "Invalid value for argument `lr`. Expected a number in (0, inf). Received: lr=0.0"
    with pytest.raises(ValueError) as exc:
        check_non_negative("weight_decay", -1e-4)
    assert str(exc.value) == (
        "Invalid value for argument `weight_decay`. Expected a number in [0, inf). Received: weight_decay=-0.0001"
    )
    with pytest.raises(ValueError) as exc:
        check_range("x", 3.0, None, 2.5)
    assert str(exc.value) == "Invalid value for argument `x`. Expected a number in (-inf, 2.5]. Received: x=3.0"


def test_int_and_choice():
    assert check_int("depth", 3, low=1) == 3
    with pytest.raises(ValueError) as exc:
        check_int("block_size", 2.0, 1, 7)
    assert str(exc.value) == "Invalid value for argument `block_size`. Expected an integer in [1, 7]. Received: block_size=2.0"
    with pytest.raises(ValueError) as exc:
        check_choice("mode", "scaled", ("inverted", "classic"))
    assert str(exc.value) == (
        "Invalid value for argument `mode`. Expected one of 'inverted', 'classic'. Received: mode='scaled'"
    )


def test_ndim():
    check_ndim("input", torch.zeros(2, 3, 4), (3, 4, 5))
    with pytest.raises(ValueError) as exc:
        check_ndim("input", torch.zeros(2, 3), (3, 4, 5))
    assert str(exc.value) == (
        "Invalid value for argument `input`. Expected a tensor with 3, 4 or 5 dimensions. "
        "Received: input.ndim=2 (shape (2, 3))"
    )


@pytest.mark.parametrize(("exc", "expected"), [
    (RuntimeError("mat1 and mat2 shapes cannot be multiplied (4x7 and 4x8)"), True),
    (IndexError("Target 8 is out of bounds."), True),
    (RuntimeError("Given groups=1, weight of size [8, 3, 3], expected input[4, 5, 40] to have 3 channels, "
                  "but got 5 channels instead"), True),
    (RuntimeError("boom"), False),
    (ValueError("mat1 and mat2 shapes cannot be multiplied"), False),  # not an error PyTorch raises for it
])
def test_is_input_mismatch(exc, expected):
    from reglab._validate import is_input_mismatch

    assert is_input_mismatch(exc) is expected
