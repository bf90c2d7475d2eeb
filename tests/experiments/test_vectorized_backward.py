"""The hand-written training step of the stacked MLP against autograd, and its mask draw.

``StackedMLP.forward_backward`` replaces ``forward`` + loss + ``backward()`` in the engine for
ReLU stacks: it must give the logits, per-member losses and gradients autograd gives (to float
rounding), with the same dropout masks and the same generator states afterwards.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from reglab.experiments.vectorized import compile_stack
from reglab.experiments.vectorized.engine import _member_ce
from reglab.models import build

D, C, B = 7, 5, 24
RATES = (0.0, 0.2, 0.5)


def _stack(*, input_dropout: float = 0.0, depth: int = 2, width: int = 40, activation: str = "relu"):
    models = []
    for k, p in enumerate(RATES):
        torch.manual_seed(10 + k)
        models.append(
            build("mlp", (D,), C, width=width, depth=depth, dropout=p, input_dropout=input_dropout, activation=activation)
        )
    return compile_stack(models)


def _autograd(stack, x, y, gens, masks, smoothing, l1, l2):
    for p in stack.parameters():
        p.grad = None
    logits = stack.forward(x, training=True, generators=gens, masks=masks)
    loss = _member_ce(logits, y, smoothing)
    objective = loss
    weights = stack.weights
    if l1 is not None:
        objective = objective + l1 * sum(w.abs().flatten(1).sum(1) for w in weights)
    if l2 is not None:
        objective = objective + l2 * sum(w.square().flatten(1).sum(1) for w in weights)
    objective.sum().backward()
    return logits.detach(), loss.detach(), [p.grad.clone() for p in stack.parameters()]


@pytest.mark.parametrize(
    ("masks", "smoothing", "penalties", "input_dropout", "depth", "width", "soft"),
    [
        ("exact", None, False, 0.0, 2, 40, False),
        ("exact", (0.0, 0.1, 0.3), True, 0.0, 2, 40, False),
        ("fast", (0.2, 0.0, 0.05), True, 0.3, 3, 24, False),
        ("exact", None, True, 0.25, 1, 8, False),  # 8 hidden units: the transposed (few-output) products
        ("exact", None, False, 0.0, 2, 40, True),  # mixup's soft targets
        ("fast", (0.0, 0.1, 0.3), True, 0.0, 2, 24, True),
    ],
    ids=["plain", "smoothing-l1-l2", "fast-input-dropout-depth3", "narrow-hidden", "soft", "soft-smoothing-l1-l2"],
)
def test_forward_backward_matches_autograd(masks, smoothing, penalties, input_dropout, depth, width, soft):
    stack = _stack(input_dropout=input_dropout, depth=depth, width=width)
    assert stack.supports_manual_backward()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(len(RATES), B, D, generator=g)
    y = torch.randint(0, C, (len(RATES), B), generator=g)
    if soft:  # lam * onehot(y) + (1 - lam) * onehot(y'), one lam per member as mixup draws it
        lam = torch.rand(len(RATES), 1, 1, generator=g)
        other = torch.randint(0, C, (len(RATES), B), generator=g)
        y = lam * F.one_hot(y, C).float() + (1 - lam) * F.one_hot(other, C).float()
    smooth = torch.tensor(smoothing) if smoothing is not None else None
    l1 = torch.tensor([1e-3, 0.0, 5e-3]) if penalties else None
    l2 = torch.tensor([0.0, 2e-3, 1e-2]) if penalties else None

    gens_a = [torch.Generator().manual_seed(s) for s in (1, 2, 3)]
    ref_logits, ref_loss, ref_grads = _autograd(stack, x, y, gens_a, masks, smooth, l1, l2)
    for p in stack.parameters():
        p.grad = None
    gens_b = [torch.Generator().manual_seed(s) for s in (1, 2, 3)]
    logits, loss = stack.forward_backward(x, y, generators=gens_b, masks=masks, smoothing=smooth, l1=l1, l2=l2)

    torch.testing.assert_close(logits, ref_logits, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(loss, ref_loss, atol=1e-6, rtol=1e-6)
    for p, ref in zip(stack.parameters(), ref_grads):
        assert p.grad.shape == ref.shape
        torch.testing.assert_close(p.grad, ref, atol=1e-6, rtol=1e-5)
    # the same masks were drawn: the generators advanced alike
    for a, b in zip(gens_a, gens_b):
        assert torch.equal(a.get_state(), b.get_state())


def test_forward_backward_needs_relu_and_autograd_stacks_say_so():
    assert not _stack(activation="tanh").supports_manual_backward()
    assert _stack().supports_manual_backward()


@pytest.mark.parametrize("p", [0.05, 1 / 3, 0.5, 0.7, 0.9999])
def test_exact_mask_equals_bernoulli_and_leaves_the_generator_in_the_same_state(p):
    # The exact draw compares int64 random bits with ceil((1 - p) * 2**53); bernoulli_ compares
    # the float64 uniform made of the same bits with 1 - p. 1/3 makes (1 - p) * 2**53 non-integer.
    from reglab.experiments.vectorized.stacked_mlp import Layer, StackedMLP

    stack = StackedMLP([Layer("dropout", rate=(p, 0.0))], [torch.zeros(2, 1, 1)], [torch.zeros(2, 1, 1)])
    h = torch.ones(2, 300, 70)
    g = torch.Generator().manual_seed(42)
    out = stack.forward(h, training=True, generators=[g, None], masks="exact")
    ref_g = torch.Generator().manual_seed(42)
    ref = torch.empty(300, 70).bernoulli_(1 - p, generator=ref_g) * (1.0 / (1.0 - p))
    assert torch.equal(out[0], ref)
    assert torch.equal(out[1], h[1])  # p = 0: identity, nothing drawn
    assert torch.equal(g.get_state(), ref_g.get_state())


@pytest.mark.parametrize("width", [40, 8])
def test_eval_forward_of_shared_inputs_matches_each_members_module(width):
    # The shared-input first layer runs as one (B, in) x (in, K * out) product and layers with
    # few outputs run transposed: each member's logits must be its module's.
    models = []
    for k, p in enumerate(RATES):
        torch.manual_seed(20 + k)
        models.append(build("mlp", (D,), C, width=width, depth=2, dropout=p).eval())
    stack = compile_stack(models)
    x = torch.randn(33, D, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        out = stack.forward(x, training=False)
        for k, model in enumerate(models):
            torch.testing.assert_close(out[k], model(x), atol=1e-6, rtol=1e-6)
