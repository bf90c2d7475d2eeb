"""mc_predict: exact p=0 identity, batch norm untouched, modes restored, seeded reproducibility,
agreement with a hand-written loop of passes, entropy/BALD formulas, and argument errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import reglab.nn as rnn
from reglab.uncertainty import (
    deterministic_predict,
    mc_dropout_mode,
    mc_predict,
    mutual_information,
    predictive_entropy,
)


def _bn_net(p: float, seed: int = 0, dropout: type[nn.Module] = nn.Dropout) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), dropout(p), nn.Linear(16, 4))
    bn = net[1]
    bn.running_mean.normal_()
    bn.running_var.uniform_(0.5, 2.0)
    bn.num_batches_tracked.fill_(7)
    return net


def _x(n: int = 23, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 6, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("dropout", [nn.Dropout, rnn.Dropout])
def test_p0_equals_deterministic_with_zero_variance(dropout):
    net = _bn_net(0.0, dropout=dropout)
    x = _x()
    det = deterministic_predict(net, x, batch_size=5)
    pred = mc_predict(net, x, samples=8, generator=torch.Generator().manual_seed(3), batch_size=5)
    assert torch.equal(pred.probs, det)
    assert torch.equal(pred.variance, torch.zeros_like(det))
    assert torch.equal(pred.mutual_information, torch.zeros(len(x)))
    assert torch.equal(pred.expected_entropy, pred.entropy)
    assert torch.allclose(pred.log_probs, det.log(), atol=1e-6, rtol=0)
    assert torch.equal(pred.prediction, det.argmax(1))


def test_batch_norm_statistics_and_modes_unchanged():
    net = _bn_net(0.5)
    bn = net[1]
    before = {k: v.clone() for k, v in bn.state_dict().items()}
    net.train()
    net[4].eval()  # a mixed state must come back exactly
    modes = [m.training for m in net.modules()]
    seen = []
    hook = bn.register_forward_pre_hook(lambda m, a: seen.append(m.training))
    mc_predict(net, _x(), samples=4, generator=torch.Generator().manual_seed(0))
    hook.remove()
    assert seen == [False] * 4  # batch norm ran in eval mode in every pass
    for k, v in bn.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert [m.training for m in net.modules()] == modes


def test_weight_noise_wrapping_batch_norm_keeps_it_in_eval():
    torch.manual_seed(0)
    bn = nn.BatchNorm1d(6)
    bn.running_mean.fill_(0.3)
    net = nn.Sequential(rnn.WeightNoise(bn, std=0.1), nn.Linear(6, 3))
    seen = []
    bn.register_forward_pre_hook(lambda m, a: seen.append(m.training))
    pred = mc_predict(net, _x(), samples=3, types=rnn.STOCHASTIC_TYPES,
                      generator=torch.Generator().manual_seed(0))
    assert seen == [False] * 3
    assert torch.equal(bn.running_mean, torch.full((6,), 0.3))
    assert float(pred.variance.max()) > 0.0  # the weight noise was active


def test_modes_restored_when_a_pass_raises():
    class Boom(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    net = nn.Sequential(nn.Dropout(0.5), Boom())
    net.eval()
    with pytest.raises(RuntimeError, match="^boom$"):
        mc_predict(net, _x(), samples=2)
    assert [m.training for m in net.modules()] == [False, False, False]


def test_mc_dropout_mode_switches_only_the_dropout_family():
    net = nn.Sequential(nn.Linear(6, 6), rnn.DropPath(0.2), nn.Dropout(0.1), rnn.GaussianDropout(0.2),
                        nn.BatchNorm1d(6))
    net.train()
    with mc_dropout_mode(net) as active:
        assert [type(m).__name__ for m in active] == ["Dropout", "GaussianDropout"]
        assert [m.training for m in net] == [False, False, True, True, False]
    assert all(m.training for m in net.modules())


def test_generator_reproducible_and_global_rng_untouched():
    net = _bn_net(0.5)
    x = _x()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = mc_predict(net, x, samples=6, generator=torch.Generator().manual_seed(11), batch_size=10)
    assert torch.equal(torch.get_rng_state(), state)
    b = mc_predict(net, x, samples=6, generator=torch.Generator().manual_seed(11), batch_size=10)
    c = mc_predict(net, x, samples=6, generator=torch.Generator().manual_seed(12), batch_size=10)
    for field in ("probs", "log_probs", "variance", "entropy", "expected_entropy", "mutual_information",
                  "most_uncertain"):
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    assert not torch.equal(a.probs, c.probs)


def test_matches_a_hand_written_loop_of_passes():
    net = _bn_net(0.5)
    x = _x(30)
    gen = torch.Generator().manual_seed(5)
    seed = int(torch.randint(0, 2**63 - 1, (1,), generator=gen.clone_state()).item())
    pred = mc_predict(net, x, samples=7, generator=gen, batch_size=None, top_k=30)
    torch.manual_seed(seed)
    net.eval()
    net[3].train()
    with torch.no_grad():
        passes = torch.stack([torch.softmax(net(x), dim=1) for _ in range(7)])  # (T, N, C)
    assert torch.allclose(pred.probs, passes.mean(0), atol=1e-6, rtol=0)
    assert torch.allclose(pred.variance, passes.var(0, unbiased=False), atol=1e-6, rtol=0)
    assert torch.allclose(pred.log_probs, passes.mean(0).log(), atol=1e-5, rtol=0)
    assert torch.allclose(pred.entropy, predictive_entropy(passes.mean(0)), atol=1e-6, rtol=0)
    assert torch.allclose(pred.expected_entropy, predictive_entropy(passes).mean(0), atol=1e-6, rtol=0)
    assert torch.allclose(pred.mutual_information, mutual_information(passes), atol=1e-6, rtol=0)
    assert float(pred.mutual_information.min()) >= 0.0
    order = torch.sort(mutual_information(passes), descending=True, stable=True).indices
    assert torch.equal(pred.most_uncertain, pred.ranked())
    assert pred.most_uncertain[:3].tolist() == order[:3].tolist()


def test_tensor_batches_and_a_loader_give_the_same_numbers():
    net = _bn_net(0.3)
    x = _x(25)
    a = mc_predict(net, x, samples=4, generator=torch.Generator().manual_seed(2), batch_size=10)
    loader = [(x[i:i + 10], torch.zeros(len(x[i:i + 10]))) for i in range(0, 25, 10)]
    b = mc_predict(net, loader, samples=4, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a.probs, b.probs)
    assert a.probs.shape == (25, 4)
    assert torch.allclose(a.probs.sum(1), torch.ones(25), atol=1e-6, rtol=0)


def test_dropout_variance_matches_the_binomial_law():
    # One input unit x=1 through Dropout(p) into logits [h, 0]: softmax(h)[0] is sigmoid(h) with
    # h = 1/(1-p) (kept) or 0 (dropped). Over T passes the mean is (1-p) s1 + p s0 exactly in law;
    # its sampling error is sqrt(p(1-p)/T) (s1 - s0).
    p, T = 0.3, 4000
    net = nn.Sequential(nn.Dropout(p), nn.Linear(1, 2, bias=False))
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[1.0], [0.0]]))
    pred = mc_predict(net, torch.ones(1, 1), samples=T, generator=torch.Generator().manual_seed(0))
    s1, s0 = torch.sigmoid(torch.tensor(1 / (1 - p))).item(), 0.5
    expected_mean = (1 - p) * s1 + p * s0
    se = math.sqrt(p * (1 - p) / T) * (s1 - s0)
    assert abs(pred.probs[0, 0].item() - expected_mean) < 4 * se
    expected_var = p * (1 - p) * (s1 - s0) ** 2
    assert abs(pred.variance[0, 0].item() - expected_var) < 0.1 * expected_var


def test_entropy_and_bald_on_hand_built_probabilities():
    probs = torch.tensor([[0.5, 0.5], [1.0, 0.0], [0.25, 0.75]])
    h = predictive_entropy(probs)
    assert torch.allclose(h, torch.tensor([math.log(2), 0.0, -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))]),
                          atol=1e-7, rtol=0)
    disagree = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])  # (T=2, N=1, C=2): confident, opposite
    agree = torch.tensor([[[0.5, 0.5]], [[0.5, 0.5]]])  # both unsure: all aleatoric
    assert torch.allclose(mutual_information(disagree), torch.tensor([math.log(2)]), atol=1e-7, rtol=0)
    assert torch.equal(mutual_information(agree), torch.tensor([0.0]))
    mixed = torch.tensor([[[0.9, 0.1]], [[0.3, 0.7]]])
    hm = lambda q: -(q * q.log()).sum()  # noqa: E731
    expected = hm(torch.tensor([0.6, 0.4])) - (hm(torch.tensor([0.9, 0.1])) + hm(torch.tensor([0.3, 0.7]))) / 2
    assert torch.allclose(mutual_information(mixed), expected.reshape(1), atol=1e-6, rtol=0)


def test_ranked_orders_by_the_chosen_score():
    net = _bn_net(0.5)
    pred = mc_predict(net, _x(12), samples=5, generator=torch.Generator().manual_seed(1), top_k=4,
                      rank_by="entropy")
    assert pred.most_uncertain.tolist() == torch.sort(pred.entropy, descending=True, stable=True).indices[:4].tolist()
    var = pred.ranked(3, "variance")
    assert var.tolist() == torch.sort(pred.variance.sum(1), descending=True, stable=True).indices[:3].tolist()


def test_errors():
    net = _bn_net(0.5)
    x = _x()
    with pytest.raises(ValueError) as exc:
        mc_predict(net, x, samples=0)
    assert str(exc.value) == "Invalid value for argument `samples`. Expected an integer >= 1. Received: samples=0"
    with pytest.raises(ValueError) as exc:
        mc_predict(net, x, rank_by="bald")
    assert str(exc.value) == ("Invalid value for argument `rank_by`. Expected one of 'mutual_information', "
                              "'entropy', 'variance'. Received: rank_by='bald'")
    with pytest.raises(ValueError) as exc:
        mc_predict(net, x, types=())
    assert str(exc.value) == ("Invalid value for argument `types`. Expected a non-empty tuple of "
                              "torch.nn.Module subclasses. Received: types=()")
    with pytest.raises(ValueError) as exc:
        mc_predict(net, "data")
    assert str(exc.value) == ("Invalid value for argument `inputs`. Expected a tensor or an iterable of "
                              "tensors / (input, target) batches. Received: inputs of type str")
    with pytest.raises(ValueError) as exc:
        mc_predict(nn.Sequential(nn.Linear(6, 3)), x)
    assert str(exc.value) == (
        "Invalid value for argument `model`. Expected a model with at least one module of types (Dropout, "
        "Dropout1d, Dropout2d, Dropout3d, AlphaDropout, FeatureAlphaDropout, Dropout, SpatialDropout, "
        "GaussianDropout, AlphaDropout, LockedDropout, DropConnect). Received: a Sequential without any "
        "(its MC passes would all be equal)")
    with pytest.raises(ValueError) as exc:
        mc_predict(net, x, generator=3)
    assert str(exc.value) == "Invalid value for argument `generator`. Expected a torch.Generator or None. Received: generator=3"
    with pytest.raises(ValueError) as exc:
        mutual_information(torch.ones(2, 3))
    assert str(exc.value) == ("Invalid value for argument `pass_probs`. Expected a tensor with 3 dimensions. "
                              "Received: pass_probs.ndim=2 (shape (2, 3))")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_hand_loop_and_is_reproducible():
    net = _bn_net(0.5).cuda()
    x = _x(40).cuda()
    a = mc_predict(net, x, samples=5, generator=torch.Generator().manual_seed(4), batch_size=16)
    b = mc_predict(net, x, samples=5, generator=torch.Generator().manual_seed(4), batch_size=16)
    assert a.probs.device.type == "cuda"
    assert torch.equal(a.probs, b.probs)
    net0 = _bn_net(0.0).cuda()
    assert torch.equal(mc_predict(net0, x, samples=3).probs, deterministic_predict(net0, x))
