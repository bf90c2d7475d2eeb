"""Every module of ``reglab.nn`` under PyTorch's own transforms: ``vmap``, ``functional_call``,
``torch.compile(fullgraph=True)``."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call, vmap

import reglab.functional as RF
import reglab.nn as RN

# name -> (factory, per-member input shape, E[training output] == eval output)
CASES = {
    "Dropout": (lambda: RN.Dropout(0.5), (4, 6), True),
    "SpatialDropout": (lambda: RN.SpatialDropout(0.5), (4, 3, 5), True),
    "GaussianDropout": (lambda: RN.GaussianDropout(0.5), (4, 6), True),
    "AlphaDropout": (lambda: RN.AlphaDropout(0.5), (4, 6), False),
    "LockedDropout": (lambda: RN.LockedDropout(0.5), (2, 3, 4), True),
    "DropConnect": (lambda: RN.DropConnect(6, 3, 0.5), (4, 6), True),
    "DropPath": (lambda: RN.DropPath(0.5), (16, 6), True),
    "DropBlock2d": (lambda: RN.DropBlock2d(0.2, 3), (2, 2, 6, 6), False),
    "GaussianNoise": (lambda: RN.GaussianNoise(0.5), (4, 6), True),
    "WeightNoise": (lambda: RN.WeightNoise(torch.nn.Linear(6, 3), 0.5), (4, 6), True),
}


def test_every_stochastic_module_is_covered():
    assert {t.__name__ for t in RN.STOCHASTIC_TYPES if t.__module__.startswith("reglab")} == set(CASES)


def _members(name: str, k: int) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """The module in training mode, one input and the vmapped outputs of ``k`` members."""
    factory, shape, _ = CASES[name]
    torch.manual_seed(0)
    module = factory().train()
    x = torch.randn(*shape)
    params = dict(module.named_parameters())
    out = vmap(lambda xi: functional_call(module, params, (xi,)), randomness="different")(x.expand(k, *shape))
    return module, x, out


@pytest.mark.parametrize("name", sorted(CASES))
def test_vmap_different_randomness_gives_each_member_its_own_draw(name):
    module, x, out = _members(name, 8)
    assert out.shape[0] == 8
    flat = out.flatten(1)
    # No two members drew the same mask/noise.
    assert all(not torch.equal(flat[i], flat[j]) for i in range(8) for j in range(i + 1, 8))


@pytest.mark.parametrize("name", sorted(n for n, case in CASES.items() if case[2]))
def test_vmap_members_average_to_the_eval_output(name):
    # Inverted scaling and zero-mean noise: E[train output] = eval output, per element.
    module, x, out = _members(name, 2000)
    expected = module.eval()(x)
    err = (out.mean(0) - expected).abs().max().item()
    # Per-element std of the mean over 2000 members is <= 0.05 here; 0.25 is > 5 sigma.
    assert err < 0.25, err


@pytest.mark.parametrize("name", sorted(CASES))
def test_functional_call_matches_the_module_call_for_the_same_seed(name):
    factory, shape, _ = CASES[name]
    module = factory().train()
    x = torch.randn(*shape)
    params = {k: v.detach().clone() for k, v in module.named_parameters()}
    torch.manual_seed(3)
    direct = module(x)
    torch.manual_seed(3)
    called = functional_call(module, params, (x,))
    torch.testing.assert_close(called, direct, rtol=0, atol=0)


def test_weight_noise_under_functional_call_uses_the_given_weights():
    linear = torch.nn.Linear(3, 2)
    module = RN.WeightNoise(linear, std=0.1)
    x = torch.randn(5, 3)
    doubled = {"module.weight": 2 * linear.weight.detach(), "module.bias": linear.bias.detach()}
    torch.manual_seed(1)
    out = functional_call(module, doubled, (x,))
    torch.manual_seed(1)
    noise = torch.normal(torch.zeros(2, 3), 0.1)
    torch.testing.assert_close(out, x @ (2 * linear.weight.detach() + noise).T + linear.bias.detach())


def test_weight_noise_gradient_under_functional_call_is_the_plain_linear_gradient():
    linear = torch.nn.Linear(3, 2)
    module = RN.WeightNoise(linear, std=0.1)
    x = torch.randn(5, 3)
    params = {k: v.detach() for k, v in module.named_parameters()}
    grads = torch.func.grad(lambda p: functional_call(module, p, (x,)).sum())(params)
    torch.testing.assert_close(grads["module.weight"], x.sum(0).expand(2, 3))


@pytest.mark.parametrize("name", sorted(CASES))
def test_compile_fullgraph_traces_the_training_forward(name):
    # The default (global RNG) path has no graph break: fullgraph=True raises on one.
    factory, shape, _ = CASES[name]
    torch._dynamo.reset()
    module = factory().train()
    x = torch.ones(*shape)
    out = torch.compile(module, fullgraph=True, backend="eager")(x)
    assert out.shape == module.eval()(x).shape
    module.train()
    assert not torch.equal(out, module.eval()(x))  # it did draw


def test_compile_fullgraph_rejects_an_explicit_generator():
    # Dynamo cannot trace a torch.Generator argument (PyTorch 2.13): documented in reglab.functional.
    torch._dynamo.reset()
    gen = torch.Generator().manual_seed(0)
    fn = torch.compile(lambda x: RF.dropout(x, 0.5, training=True, generator=gen), fullgraph=True, backend="eager")
    with pytest.raises(torch._dynamo.exc.Unsupported):
        fn(torch.ones(3, 4))
    # Without fullgraph the draw runs eagerly at a graph break: the generator's numbers, unchanged.
    torch._dynamo.reset()
    broken = torch.compile(lambda x: RF.dropout(x, 0.5, training=True, generator=gen) * 2, backend="eager")
    gen.manual_seed(0)
    compiled = broken(torch.ones(3, 4))
    gen.manual_seed(0)
    assert torch.equal(compiled, RF.dropout(torch.ones(3, 4), 0.5, training=True, generator=gen) * 2)


@pytest.mark.slow
def test_compile_inductor_dropout_keeps_the_inverted_scaling():
    torch._dynamo.reset()
    torch.manual_seed(0)
    out = torch.compile(RN.Dropout(0.25).train(), fullgraph=True)(torch.ones(200, 50))
    torch.testing.assert_close(out.unique(), torch.tensor([0.0, 1 / 0.75]))
    assert abs((out == 0).float().mean().item() - 0.25) < 0.03  # 10,000 draws: 5 sigma = 0.022


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("name", sorted(CASES))
def test_jit_script_fails_for_the_documented_reason(name):
    # reglab.nn's docstring: keyword-only arguments (TorchScript is deprecated; use torch.compile).
    with pytest.raises(Exception, match="keyword-only arguments with defaults"):
        torch.jit.script(CASES[name][0]())
