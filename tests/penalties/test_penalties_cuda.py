"""Penalties and max-norm on a CUDA device agree with the CPU (skipped without CUDA)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reglab.penalties import elastic_net_penalty, max_norm_, param_groups

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_penalties_and_max_norm_on_cuda():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.Linear(16, 4))
    cuda_model = nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.Linear(16, 4)).cuda()
    cuda_model.load_state_dict(model.state_dict())
    torch.testing.assert_close(elastic_net_penalty(cuda_model, 0.3).cpu(), elastic_net_penalty(model, 0.3))
    assert max_norm_(cuda_model, 0.5) == max_norm_(model, 0.5) > 0
    for a, b in zip(cuda_model.parameters(), model.parameters()):
        torch.testing.assert_close(a.detach().cpu(), b.detach())
    assert bool((cuda_model[2].weight.norm(dim=1) <= 0.5).all())
    assert [len(g["params"]) for g in param_groups(cuda_model, 0.1)] == [2, 4]
