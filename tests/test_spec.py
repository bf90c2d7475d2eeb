import pytest
from pydantic import ValidationError

from reglab.experiments.spec import RegularizationSpec, RunSpec


def test_round_trip_and_key_stable():
    spec = RunSpec(arm="dropout", seed=3, regularization=RegularizationSpec(dropout=0.2))
    again = RunSpec.from_dict(spec.to_dict())
    assert again == spec
    assert again.key() == spec.key()
    assert len(spec.key()) == 16
    assert RunSpec(arm="dropout", seed=4).key() != RunSpec(arm="dropout", seed=3).key()


def test_unknown_field_rejected():
    with pytest.raises(ValidationError, match="dropuot"):
        RunSpec.from_dict({"regularization": {"dropuot": 0.1}})


def test_out_of_range_rejected():
    with pytest.raises(ValidationError, match="less than 1"):
        RegularizationSpec(dropout=1.0)
