"""Reliability diagram and most-uncertain-inputs figures (report.reliability)."""

from __future__ import annotations

import pytest
import torch

from reglab.report.reliability import reliability_diagram, uncertain_inputs_figure
from reglab.uncertainty import reliability_bins

PNG = b"\x89PNG\r\n\x1a\n"


def _bins():
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]], dtype=torch.float64)
    return reliability_bins(probs, torch.tensor([0, 1, 0, 1]), n_bins=5)


def test_reliability_diagram_describes_each_predictor():
    b = _bins()
    fig = reliability_diagram({"deterministic": b, "MC dropout (T=30)": b.to_dict()})
    assert fig.id == "fig-reliability"
    assert fig.png.startswith(PNG)
    ece = f"{100 * b.ece:.2f}%"
    assert fig.alt == (f"Reliability diagram with 5 equal-width confidence bins: deterministic ECE {ece}; "
                       f"MC dropout (T=30) ECE {ece}")


def test_reliability_diagram_errors():
    with pytest.raises(ValueError) as exc:
        reliability_diagram({})
    assert str(exc.value) == ("Invalid value for argument `bins`. Expected a non-empty mapping of label -> "
                              "ReliabilityBins. Received: bins={}")
    with pytest.raises(ValueError) as exc:
        reliability_diagram({"a": {"edges": [0, 1]}})
    assert str(exc.value) == ("Invalid value for argument `bins`. Expected ReliabilityBins (or its to_dict()). "
                              "Received: bins without 'counts'")


ROWS = [{"index": 4, "label": 1, "prediction": 2, "confidence": 0.4, "mutual_information": 0.3},
        {"index": 9, "label": 0, "prediction": 0, "confidence": 0.5, "mutual_information": 0.2}]


@pytest.mark.parametrize("shape,kind", [((1, 8, 8), "images"), ((3, 6, 6), "images"), ((40,), "signals")])
def test_uncertain_inputs_drawn_for_images_and_signals(shape, kind):
    fig = uncertain_inputs_figure(torch.randn(2, *shape), ROWS, shape, class_names=["a", "b", "c"])
    assert fig.id == "fig-uncertain-inputs" and fig.png.startswith(PNG)
    assert fig.alt == f"The 2 most uncertain test {kind} under MC dropout, 1 of them misclassified"


def test_tabular_inputs_are_not_drawn():
    assert uncertain_inputs_figure(torch.randn(2, 4), ROWS, (4,)) is None
    assert uncertain_inputs_figure(torch.randn(0, 40), [], (40,)) is None
