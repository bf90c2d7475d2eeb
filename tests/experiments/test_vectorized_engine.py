"""The stacked engine against the single-run reference: ``reglab.training.Trainer``.

Member k of a stack must be the run the Trainer makes with the same initial weights, the same
data-order generator and the same seed (dropout masks, input noise): same weights after training
(to float rounding, ~1e-7), same per-epoch history, same early-stopping decisions and sentences.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reglab.data import TensorLoader
from reglab.experiments.vectorized import MemberHyper, StackedOptimizer, compile_stack, fit_stacked
from reglab.models import build
from reglab.training import EarlyStopping, Penalty, Trainer

D, C, N, NV, B = 6, 3, 96, 40, 16


def _data():
    g = torch.Generator().manual_seed(123)
    x = torch.randn(N, D, generator=g)
    y = torch.randint(0, C, (N,), generator=g)
    xv = torch.randn(NV, D, generator=g)
    yv = torch.randint(0, C, (NV,), generator=g)
    return x, y, xv, yv


def _model(init_seed: int, dropout: float = 0.0) -> nn.Module:
    torch.manual_seed(init_seed)
    return build("mlp", (D,), C, width=16, depth=2, dropout=dropout)


def _groups(model: nn.Module, wd: float):
    return [
        {"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": wd},
        {"params": [p for p in model.parameters() if p.dim() < 2], "weight_decay": 0.0},
    ]


def _single(model, *, seed, lr, epochs, wd=0.0, optimizer="adamw", hyper=None, stopper=None):
    """The reference: one Trainer run, configured as run_one configures it."""
    x, y, xv, yv = _data()
    hyper = hyper or MemberHyper(lr=lr, weight_decay=wd)
    if optimizer == "adamw":
        opt = torch.optim.AdamW(_groups(model, wd), lr=lr)
    elif optimizer == "adam":
        opt = torch.optim.Adam(_groups(model, wd), lr=lr)
    else:
        opt = torch.optim.SGD(_groups(model, wd), lr=lr, momentum=0.9)
    if hyper.input_noise > 0:
        from reglab.nn import GaussianNoise

        model = nn.Sequential(GaussianNoise(hyper.input_noise), model)
    penalties = [Penalty(kind, c) for kind, c in (("l1", hyper.l1), ("l2", hyper.l2)) if c > 0]
    mix = None
    if hyper.mixup_alpha > 0:  # as run_one: a mixup-only MixupCutmix batch transform
        from reglab.augment import MixupCutmix

        mix = MixupCutmix(mixup_alpha=hyper.mixup_alpha, cutmix_alpha=0.0, num_classes=C)
    trainer = Trainer(
        model,
        opt,
        lambda out, target: F.cross_entropy(out, target, label_smoothing=hyper.label_smoothing),
        train_loader=TensorLoader(x, y, B, shuffle=True, generator=torch.Generator().manual_seed(seed)),
        val_loader=TensorLoader(xv, yv, B),
        epochs=epochs,
        seed=seed,
        penalties=penalties,
        batch_transform=mix,
        clip_grad_norm=hyper.grad_clip,
        max_norm=hyper.max_norm,
        callbacks=[stopper] if stopper is not None else [],
        eval_loss_fn=F.cross_entropy,
        progress=False,
    )
    return model, trainer.fit().to_dict()


def _stacked(models, hypers, seeds, *, epochs, optimizer="adamw", stoppers=None, masks="exact"):
    x, y, xv, yv = _data()
    stack = compile_stack(models)
    histories = fit_stacked(
        stack,
        hypers,
        x,
        y,
        xv,
        yv,
        epochs=epochs,
        batch_size=B,
        order_generators=[torch.Generator().manual_seed(s) for s in seeds],
        mask_generators=[torch.Generator().manual_seed(s) for s in seeds],
        transform_generators=[torch.Generator().manual_seed(s) for s in seeds],
        optimizer=optimizer,
        stoppers=stoppers,
        masks=masks,
    )
    return stack, histories


def _assert_same_run(stack, k, model, hist_stack, hist_single, atol=2e-5):
    member = stack.write_member(k, _model(99, 0.0))
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    mine = [m for m in member.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == len(mine)
    for a, b in zip(linears, mine):
        torch.testing.assert_close(b.weight, a.weight, atol=atol, rtol=0, equal_nan=True)
        torch.testing.assert_close(b.bias, a.bias, atol=atol, rtol=0, equal_nan=True)
    assert set(hist_stack) == set(hist_single)
    for key in ("epoch", "best_epoch", "stopped_epoch", "stop_reason", "lr"):
        assert hist_stack[key] == hist_single[key], key
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "grad_norm_mean", "grad_norm_max"):
        assert hist_stack[key] == pytest.approx(hist_single[key], rel=1e-5, abs=1e-5), key


def test_members_reproduce_trainer_runs_with_their_own_dropout_lr_decay_and_seed():
    cfg = [(0.0, 1e-2, 0.0, 3), (0.3, 3e-3, 0.1, 4), (0.5, 1e-2, 0.05, 5)]  # (p, lr, wd, seed)
    models = [_model(10 + i, p) for i, (p, *_rest) in enumerate(cfg)]
    hypers = [MemberHyper(lr=lr, weight_decay=wd) for _, lr, wd, _ in cfg]
    stack, hists = _stacked(models, hypers, [c[3] for c in cfg], epochs=4)
    for k, (p, lr, wd, seed) in enumerate(cfg):
        model, hist = _single(_model(10 + k, p), seed=seed, lr=lr, wd=wd, epochs=4)
        _assert_same_run(stack, k, model, hists[k], hist)
        assert hists[k]["stop_reason"] == "Completed all 4 epochs."


def test_member_with_p0_equals_no_dropout_run_from_same_init_and_order():
    # Member 0 has no dropout module at all; it still shares the stack with dropout members.
    models = [_model(7, 0.0), _model(7, 0.5)]
    stack, hists = _stacked(models, [MemberHyper(lr=1e-2)] * 2, [11, 11], epochs=3)
    plain, hist = _single(_model(7, 0.0), seed=11, lr=1e-2, epochs=3)
    _assert_same_run(stack, 0, plain, hists[0], hist)
    # ...and dropout changed member 1 (same init, same order): its losses differ.
    assert hists[1]["train_loss"][0] != pytest.approx(hists[0]["train_loss"][0], rel=1e-3)


@pytest.mark.parametrize(
    "hyper",
    [
        MemberHyper(lr=1e-2, l1=1e-3),
        MemberHyper(lr=1e-2, l2=1e-2),
        MemberHyper(lr=1e-2, label_smoothing=0.2),
        MemberHyper(lr=1e-2, input_noise=0.3),
        MemberHyper(lr=1e-2, max_norm=0.5),
        MemberHyper(lr=1e-2, grad_clip=0.05),
        MemberHyper(lr=1e-2, mixup_alpha=0.4),
        MemberHyper(lr=1e-2, mixup_alpha=0.4, label_smoothing=0.1, input_noise=0.2),
    ],
    ids=["l1", "l2", "label_smoothing", "input_noise", "max_norm", "grad_clip", "mixup", "mixup-smoothing-noise"],
)
def test_per_member_regularizer_takes_effect_exactly_as_in_trainer(hyper):
    models = [_model(5, 0.2), _model(6, 0.2)]
    hypers = [hyper, MemberHyper(lr=1e-2)]
    stack, hists = _stacked(models, hypers, [1, 2], epochs=3)
    model, hist = _single(_model(5, 0.2), seed=1, lr=1e-2, epochs=3, hyper=hyper)
    _assert_same_run(stack, 0, model, hists[0], hist)
    plain, plain_hist = _single(_model(6, 0.2), seed=2, lr=1e-2, epochs=3)
    _assert_same_run(stack, 1, plain, hists[1], plain_hist)
    # the regularizer changed member 0's trajectory relative to an unregularized twin
    _, twin = _single(_model(5, 0.2), seed=1, lr=1e-2, epochs=3)
    assert hists[0]["train_loss"][-1] != pytest.approx(twin["train_loss"][-1], rel=1e-4)


@pytest.mark.parametrize(
    "options",
    [
        {"name": "mlp", "width": 12, "depth": 3, "activation": "tanh", "input_dropout": 0.2},
        {"name": "mlp", "width": 12, "depth": 1, "activation": "gelu"},
        {"name": "linear_head"},
    ],
    ids=["mlp-depth3-tanh-input-dropout", "mlp-depth1-gelu", "linear_head"],
)
def test_other_layouts_reproduce_trainer_runs(options):
    options = dict(options)
    name = options.pop("name")

    def make(seed, p):
        torch.manual_seed(seed)
        return build(name, (D,), C, dropout=p, **options)

    models = [make(1, 0.0), make(2, 0.4)]
    stack, hists = _stacked(models, [MemberHyper(lr=1e-2)] * 2, [3, 4], epochs=3)
    for k, (seed, p) in enumerate([(1, 0.0), (2, 0.4)]):
        model, hist = _single(make(seed, p), seed=3 + k, lr=1e-2, epochs=3)
        member = stack.write_member(k, make(0, 0.0))
        for a, b in zip(model.parameters(), member.parameters()):
            torch.testing.assert_close(b, a, atol=2e-5, rtol=0)
        assert hists[k]["val_loss"] == pytest.approx(hist["val_loss"], rel=1e-5)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_adam_and_sgd_members_reproduce_trainer_runs(optimizer):
    models = [_model(3, 0.1), _model(4, 0.0)]
    hypers = [MemberHyper(lr=1e-2, weight_decay=0.05), MemberHyper(lr=3e-2, weight_decay=0.0)]
    stack, hists = _stacked(models, hypers, [8, 9], epochs=3, optimizer=optimizer)
    for k, (seed, hyper) in enumerate(zip([8, 9], hypers)):
        model, hist = _single(
            _model(3 + k, (0.1, 0.0)[k]), seed=seed, lr=hyper.lr, wd=hyper.weight_decay, epochs=3, optimizer=optimizer
        )
        _assert_same_run(stack, k, model, hists[k], hist)


def test_per_member_early_stopping_freezes_restores_and_matches_trainer():
    # Member 0: a large lr on random labels overfits at once, patience 1 stops it early.
    # Member 1: small lr, no early stopping, runs every epoch. Member 2: early stopping that
    # never triggers but still restores its best epoch at the end (as the Trainer does).
    epochs = 10
    specs = [(0.0, 0.05, 21, 1), (0.2, 1e-3, 22, None), (0.0, 2e-3, 23, 50)]
    models = [_model(30 + k, p) for k, (p, *_r) in enumerate(specs)]
    stoppers = [EarlyStopping(patience=pat) if pat is not None else None for *_r, pat in specs]
    hypers = [MemberHyper(lr=lr) for _, lr, _, _ in specs]
    stack, hists = _stacked(models, hypers, [s[2] for s in specs], epochs=epochs, stoppers=stoppers)
    assert hists[0]["stopped_epoch"] < epochs  # the test exercises a real early stop
    assert hists[0]["stop_reason"].startswith(f"Stopped at epoch {hists[0]['stopped_epoch']}: val_loss did not improve")
    assert hists[0]["stop_reason"].endswith(f"; restored the weights of epoch {hists[0]['best_epoch']}.")
    assert len(hists[0]["epoch"]) == hists[0]["stopped_epoch"]
    assert hists[1]["epoch"] == list(range(1, epochs + 1))
    for k, (p, lr, seed, pat) in enumerate(specs):
        stopper = EarlyStopping(patience=pat) if pat is not None else None
        model, hist = _single(_model(30 + k, p), seed=seed, lr=lr, epochs=epochs, stopper=stopper)
        _assert_same_run(stack, k, model, hists[k], hist)


def test_diverged_member_stops_alone_and_others_are_unaffected():
    bad = _model(40, 0.0)
    with torch.no_grad():
        bad.net[1].weight[0, 0] = math.nan
    models = [bad, _model(41, 0.3)]
    stack, hists = _stacked(models, [MemberHyper(lr=1e-2)] * 2, [1, 2], epochs=3)
    assert hists[0]["stop_reason"] == (
        "Stopped at epoch 1: the training loss became nan at batch 1 of 6 (diverged); restored the initial weights."
    )
    assert hists[0]["epoch"] == [] and hists[0]["stopped_epoch"] == 1
    bad_single = _model(40, 0.0)
    with torch.no_grad():
        bad_single.net[1].weight[0, 0] = math.nan
    model, hist = _single(bad_single, seed=1, lr=1e-2, epochs=3)
    _assert_same_run(stack, 0, model, hists[0], hist)
    model, hist = _single(_model(41, 0.3), seed=2, lr=1e-2, epochs=3)
    _assert_same_run(stack, 1, model, hists[1], hist)


def test_members_are_independent_same_seed_same_member_other_seed_other_member():
    models = [_model(1, 0.5), _model(1, 0.5), _model(1, 0.5)]
    stack, hists = _stacked(models, [MemberHyper(lr=1e-2)] * 3, [5, 5, 6], epochs=2)
    w = stack.weights[0].detach()
    assert torch.equal(w[0], w[1])  # same init, order and masks: bit-identical members
    assert not torch.allclose(w[0], w[2], atol=1e-4)  # another seed: another order and masks
    assert hists[0]["train_loss"] == hists[1]["train_loss"]


def test_stopped_members_weights_do_not_move_while_others_train():
    models = [_model(2, 0.0), _model(3, 0.0)]
    stack, hists = _stacked(models, [MemberHyper(lr=1e-2, weight_decay=0.1)] * 2, [1, 2], epochs=[1, 4])
    assert hists[0]["stop_reason"] == "Completed all 1 epochs."
    assert hists[1]["stop_reason"] == "Completed all 4 epochs."
    model, hist = _single(_model(2, 0.0), seed=1, lr=1e-2, wd=0.1, epochs=1)
    _assert_same_run(stack, 0, model, hists[0], hist)
    model, hist = _single(_model(3, 0.0), seed=2, lr=1e-2, wd=0.1, epochs=4)
    _assert_same_run(stack, 1, model, hists[1], hist)


@pytest.mark.parametrize("kernel", ["fused", "foreach"])
@pytest.mark.parametrize("name", ["adamw", "adam", "sgd"])
def test_stacked_optimizer_matches_torch_per_member(name, kernel, monkeypatch):
    if kernel == "foreach":  # the fallback where torch has no fused Adam(W) kernel
        monkeypatch.delattr(torch, "_fused_adamw_", raising=False)
        monkeypatch.delattr(torch, "_fused_adam_", raising=False)
    g = torch.Generator().manual_seed(0)
    k, lrs, wds = 3, [1e-2, 3e-3, 5e-2], [0.0, 0.1, 0.01]
    w = torch.randn(k, 4, 5, generator=g)
    b = torch.randn(k, 1, 5, generator=g)
    sw, sb = w.clone().requires_grad_(), b.clone().requires_grad_()
    opt = StackedOptimizer([sw, sb], [True, False], name=name, lr=lrs, weight_decay=wds, momentum=0.9)
    ref = []
    for m in range(k):
        pw, pb = w[m].clone().requires_grad_(), b[m].clone().requires_grad_()
        groups = [{"params": [pw], "weight_decay": wds[m]}, {"params": [pb], "weight_decay": 0.0}]
        cls = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam}.get(name)
        o = cls(groups, lr=lrs[m]) if cls else torch.optim.SGD(groups, lr=lrs[m], momentum=0.9)
        ref.append((pw, pb, o))
    for _ in range(5):
        gw, gb = torch.randn(k, 4, 5, generator=g), torch.randn(k, 1, 5, generator=g)
        sw.grad, sb.grad = gw.clone(), gb.clone()
        opt.step()
        for m, (pw, pb, o) in enumerate(ref):
            pw.grad, pb.grad = gw[m].clone(), gb[m].clone()
            o.step()
    for m, (pw, pb, _o) in enumerate(ref):
        torch.testing.assert_close(sw[m].detach(), pw.detach(), atol=1e-6, rtol=0)
        torch.testing.assert_close(sb[m].detach(), pb.detach(), atol=1e-6, rtol=0)


@pytest.mark.parametrize("kernel", ["fused", "foreach"])
def test_stacked_optimizer_inactive_member_is_frozen_exactly(kernel, monkeypatch):
    if kernel == "foreach":
        monkeypatch.delattr(torch, "_fused_adamw_", raising=False)
    w = torch.randn(2, 3, 3).requires_grad_()
    opt = StackedOptimizer([w], [True], name="adamw", lr=[1e-1, 1e-1], weight_decay=[0.5, 0.5])
    w.grad = torch.ones_like(w)
    opt.step()
    before = w.detach().clone()
    opt.reset_member(1)
    w.grad = torch.ones_like(w)
    w.grad[1] = 0.0
    opt.step([True, False])
    assert torch.equal(w[1].detach(), before[1])
    assert not torch.equal(w[0].detach(), before[0])


def test_fast_masks_have_each_members_keep_rate_and_are_independent():
    # 3 members, rates 0.0, 0.3, 0.6; 4000 x 50 units each. The kept fraction of a member is
    # binomial: SE = sqrt(q (1 - q) / n) ~ 1.1e-3 at n = 2e5; allow 4.5 SE.
    from reglab.experiments.vectorized.stacked_mlp import Layer, StackedMLP

    rates = (0.0, 0.3, 0.6)
    stack = StackedMLP([Layer("dropout", rate=rates)], [torch.zeros(3, 1, 1)], [torch.zeros(3, 1, 1)])
    gens = [torch.Generator().manual_seed(s) for s in (1, 2, 3)]
    h = torch.ones(3, 4000, 50)
    out = stack.forward(h, training=True, generators=gens, masks="fast")
    n = h[0].numel()
    for k, p in enumerate(rates):
        kept = (out[k] != 0).double().mean().item()
        se = math.sqrt(max(p * (1 - p), 1e-12) / n)
        assert abs(kept - (1 - p)) <= 4.5 * se, (k, kept)
        # kept units are scaled by 1 / (1 - p) exactly
        assert torch.equal(out[k][out[k] != 0], torch.full_like(out[k][out[k] != 0], 1.0 / (1.0 - p)))
    # members 1 and 2 draw independent masks: P(both kept) = 0.7 * 0.4
    both = ((out[1] != 0) & (out[2] != 0)).double().mean().item()
    assert abs(both - 0.28) <= 4.5 * math.sqrt(0.28 * 0.72 / n)
    # exact masks are those of reglab.functional.dropout with the member's generator
    from reglab.functional import dropout

    gens = [torch.Generator().manual_seed(s) for s in (1, 2, 3)]
    out = stack.forward(h, training=True, generators=gens, masks="exact")
    for k, p in enumerate(rates):
        ref = dropout(h[k], p, training=True, generator=torch.Generator().manual_seed(k + 1))
        assert torch.equal(out[k], ref)


def test_fast_masks_train_statistically_like_exact_masks():
    # Six seeds per mode, dropout 0.3: the mean final validation loss of fast-mask members must
    # agree with exact-mask members (= single Trainer runs) within 3 standard errors of the
    # difference of two means.
    seeds = list(range(6))
    results = {}
    for masks in ("exact", "fast"):
        models = [_model(50 + s, 0.3) for s in seeds]
        _, hists = _stacked(models, [MemberHyper(lr=1e-2)] * 6, seeds, epochs=4, masks=masks)
        results[masks] = torch.tensor([h["val_loss"][-1] for h in hists], dtype=torch.float64)
    a, b = results["exact"], results["fast"]
    se = math.sqrt(a.var().item() / len(a) + b.var().item() / len(b))
    assert abs(a.mean().item() - b.mean().item()) <= 3 * se
    assert not torch.equal(a, b)  # different streams, different runs


def test_fit_stacked_checks_its_arguments_before_training():
    models = [_model(1), _model(2)]
    x, y, xv, yv = _data()
    gens = [torch.Generator(), torch.Generator()]
    stack = compile_stack(models)
    with pytest.raises(ValueError) as exc:
        fit_stacked(stack, [MemberHyper(lr=1e-2)], x, y, xv, yv, epochs=1, batch_size=B,
                    order_generators=gens, mask_generators=gens)
    assert str(exc.value) == (
        "Invalid value for argument `hypers`. Expected one entry per member (2). Received: len(hypers)=1"
    )
    with pytest.raises(ValueError) as exc:
        fit_stacked(stack, [MemberHyper(lr=1e-2)] * 2, x, y, xv, yv, epochs=[3, 0], batch_size=B,
                    order_generators=gens, mask_generators=gens)
    assert str(exc.value) == "Invalid value for argument `epochs`. Expected an integer >= 1. Received: epochs=0"
    with pytest.raises(ValueError) as exc:
        fit_stacked(stack, [MemberHyper(lr=1e-2)] * 2, x, y, None, None, epochs=1, batch_size=B,
                    order_generators=gens, mask_generators=gens, stoppers=[EarlyStopping(), None])
    assert str(exc.value) == (
        "Invalid value for argument `monitor`. Expected one of the logged metrics 'train_loss', 'train_acc', "
        "'lr', 'grad_norm_mean', 'grad_norm_max', 'seconds'. Received: monitor='val_loss'"
    )
    assert stack.weights[0].grad is None  # nothing trained


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": 0.0}, "Invalid value for argument `lr`. Expected a number in (0, inf). Received: lr=0.0"),
        (
            {"lr": 1e-2, "weight_decay": -0.1},
            "Invalid value for argument `weight_decay`. Expected a number in [0, inf). Received: weight_decay=-0.1",
        ),
        (
            {"lr": 1e-2, "label_smoothing": 1.5},
            "Invalid value for argument `label_smoothing`. Expected a number in [0, 1]. Received: label_smoothing=1.5",
        ),
        (
            {"lr": 1e-2, "max_norm": 0},
            "Invalid value for argument `max_norm`. Expected a number in (0, inf). Received: max_norm=0",
        ),
    ],
)
def test_member_hyper_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError) as exc:
        MemberHyper(**kwargs)
    assert str(exc.value) == message


def test_stack_and_optimizer_argument_errors():
    with pytest.raises(ValueError) as exc:
        compile_stack([])
    assert str(exc.value) == "Invalid value for argument `models`. Expected at least one model. Received: models=[]"
    w = torch.zeros(3, 2, 2, requires_grad=True)
    with pytest.raises(ValueError) as exc:
        StackedOptimizer([w], [True], lr=[1e-2, 1e-2])
    assert str(exc.value) == "Invalid value for argument `lr`. Expected one value per member (3). Received: len(lr)=2"
    with pytest.raises(ValueError) as exc:
        StackedOptimizer([w], [True], name="rmsprop", lr=[1e-2] * 3)
    assert str(exc.value) == (
        "Invalid value for argument `name`. Expected one of 'adamw', 'adam', 'sgd'. Received: name='rmsprop'"
    )
    from reglab.errors import ConfigError

    with pytest.raises(ConfigError) as exc:
        compile_stack([build("mlp", (D,), C, width=8, norm="batch")])
    assert str(exc.value) == (
        "Cannot stack module BatchNorm1d (only Linear, element-wise activations and Dropout)."
    )
    with pytest.raises(ConfigError) as exc:
        compile_stack([_model(1), build("mlp", (D,), C, width=8)])
    assert str(exc.value).startswith("Cannot stack the members: member 1 has layout [('Linear', ((8, 6), (8,)))")
