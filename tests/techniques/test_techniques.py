"""The technique definitions: agreement with RegularizationSpec, ranges, aliases, readers, and a
technique defined inside a test running as a study arm."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from annotated_types import Ge, Gt, Le, Lt
from torch import nn
from torch.nn import functional as F

from reglab.augment import Pipeline
from reglab.analysis.effects import find_sweeps, regularization_setting, summarize_arms
from reglab.errors import ConfigError
from reglab.experiments.config import load_config, resolve_field
from reglab.experiments.execute import run_one, train
from reglab.experiments.plan import plan
from reglab.experiments.spec import RegularizationSpec, RunSpec
from reglab.experiments.vectorized import supports
from reglab.techniques import (
    STAGES,
    TECHNIQUES,
    Range,
    Technique,
    TrainContext,
    expand_arms,
    get_technique,
    parse_arm,
    register_technique,
    spec_fields,
    sweep_fields,
    technique_for_field,
    unregister_technique,
)


def _bounds(field: str) -> dict[str, float]:
    out = {}
    for m in RegularizationSpec.model_fields[field].metadata:
        for kind in (Ge, Gt, Le, Lt):
            if isinstance(m, kind):
                out[kind.__name__.lower()] = getattr(m, kind.__name__.lower())
    return out


def test_every_spec_field_has_one_applying_technique_and_they_agree():
    fields = [f for f in RegularizationSpec.model_fields if f != "custom"]
    assert list(spec_fields()) == fields
    for field in fields:
        owners = [t for t in TECHNIQUES.values() if t.field == field and t.apply is not None]
        assert len(owners) == 1, field
        t = owners[0]
        assert RegularizationSpec.model_fields[field].get_default(call_default_factory=True) == t.off, field
        if t.sweepable:  # scalar fields: the spec's bounds are the technique's range
            r = t.range
            expected = {"ge" if r.low_inclusive else "gt": r.low}
            if r.high is not None:
                expected["le" if r.high_inclusive else "lt"] = r.high
            assert _bounds(field) == expected, field


def test_catalogue_entries_are_complete():
    for t in TECHNIQUES.values():
        assert t.description
        if t.field is None:  # composite arms
            assert (t.name, t.acts_on, t.range) in {("baseline", (), None), ("stack", (), None)}
            continue
        assert t.paper and t.acts_on and set(t.acts_on) <= set(STAGES)
        if t.name == "teacher":  # an arm without a value: the teacher's model, trained plainly
            assert (t.default, t.range, t.scope, t.apply) == (None, None, "run", None)
            continue
        assert (t.range is not None and t.range.contains(t.default)) or (t.choices and t.default in t.choices)
    assert [t.name for t in TECHNIQUES.values() if not t.vectorized] == [
        "drop_path", "cutmix", "distillation", "ensemble_distillation", "self_distillation", "born_again"]
    assert [t.name for t in TECHNIQUES.values() if t.scope == "run"] == ["teacher", "born_again"]
    assert sweep_fields() == ("dropout", "drop_path", "weight_decay", "l1", "l2", "label_smoothing",
                              "mixup_alpha", "cutmix_alpha", "input_noise", "max_norm", "grad_clip")


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("dropout", 1.0, "a finite number in [0, 1)"),
    ("dropout", float("nan"), "a finite number in [0, 1)"),
    ("weight_decay", float("inf"), "a finite number in [0, inf)"),
    ("max_norm", 0.0, "a finite number in (0, inf)"),
    ("early_stopping", 2.5, "an integer >= 0"),
    ("ensemble_distillation", 0, "an integer >= 1"),
    ("dropout", True, "a finite number in [0, 1)"),
])
def test_validate_rejects_out_of_range_and_non_finite(name, value, expected):
    with pytest.raises(ValueError) as exc:
        get_technique(name).validate(value)
    assert str(exc.value) == f"Invalid value for argument `{name}`. Expected {expected}. Received: {name}={value!r}"
    assert get_technique("dropout").validate(0.5) == 0.5


def test_arm_values_are_checked_with_the_range():
    with pytest.raises(ConfigError) as exc:
        parse_arm("weight_decay=inf")
    assert str(exc.value) == ("Invalid value for argument `arms`. Expected a finite number in [0, inf) after "
                              "'weight_decay='. Received: arms='weight_decay=inf'")
    assert parse_arm("early_stopping=5")[1] == 5


def test_aliases_name_the_same_technique():
    assert get_technique("gaussian_noise") is get_technique("input_noise")
    assert parse_arm("gaussian_noise=0.3") == (get_technique("input_noise"), 0.3)
    assert expand_arms(["baseline", "gaussian_noise=0.3", "input_noise=0.3"], "mlp") == ["baseline", "input_noise=0.3"]
    # the sweep grid takes a technique's name for its field
    assert resolve_field("mixup", argument="grid") == ("regularization", "mixup_alpha")


def test_register_rejects_taken_names_and_fields():
    with pytest.raises(ValueError) as exc:
        register_technique(Technique("gaussian_noise", "again"))
    assert str(exc.value) == ("Invalid value for argument `name`. Expected a technique name not yet registered. "
                              "Received: name='gaussian_noise'")
    with pytest.raises(ValueError) as exc:
        register_technique(Technique("my_dropout", "again", acts_on=("model",), field="dropout",
                                     apply=lambda ctx, v: None))
    assert str(exc.value) == ("Invalid value for argument `field`. Expected a field no other technique applies "
                              "('dropout' applies it). Received: field='dropout'")
    with pytest.raises(ValueError) as exc:
        unregister_technique("dropout")
    assert str(exc.value) == ("Invalid value for argument `name`. Expected a technique registered outside the "
                              "catalogue. Received: name='dropout'")


# ----------------------------------------------------------------- a new technique, defined here


class ConfidencePenaltyLoss(nn.Module):
    """Cross-entropy minus ``beta`` times the entropy of the predicted distribution (Pereyra et al.
    2017, arXiv:1701.06548)."""

    def __init__(self, beta: float) -> None:
        super().__init__()
        self.beta = beta

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(logits, dim=1)
        entropy = -(logp.exp() * logp).sum(1).mean()
        return F.cross_entropy(logits, target) - self.beta * entropy


@pytest.fixture
def confidence_penalty():
    calls: list[tuple[TrainContext, Any, Any]] = []

    def apply(ctx: TrainContext, beta: float) -> None:
        calls.append((ctx, beta, ctx.loss_fn))
        ctx.loss_fn = ConfidencePenaltyLoss(beta)

    technique = register_technique(Technique(
        "confidence_penalty", "penalize confident output distributions",
        "Pereyra et al. 2017, Regularizing Neural Networks by Penalizing Confident Output Distributions, "
        "arXiv:1701.06548",
        acts_on=("loss",), field="confidence_penalty", default=0.1, range=Range(0.0, None),
        vectorized=False, sweepable=True, apply=apply,
    ))
    yield technique, calls
    unregister_technique("confidence_penalty")


TINY = {"epochs": 2, "seeds": 1, "train_size": 120, "batch_size": 40, "dataset": "digits",
        "runner": "processes", "workers": 1}


def test_a_technique_defined_here_runs_as_a_study_arm(confidence_penalty, tmp_path):
    from reglab.studies import run_study

    technique, calls = confidence_penalty
    config = load_config("study", overrides={**TINY, "out": str(tmp_path),
                                             "arms": ["baseline", "confidence_penalty=0.5"]})
    specs = plan(config)
    assert [s.arm for s in specs] == ["baseline", "confidence_penalty=0.5"]
    assert specs[1].regularization.custom == {"confidence_penalty": 0.5}
    assert "custom" not in specs[0].to_dict()["regularization"]  # keys of existing specs unchanged
    assert RunSpec.from_dict(specs[1].to_dict()) == specs[1]

    summary = run_study(config, report=False)
    assert (summary.planned, summary.completed, summary.failed) == (2, 2, [])
    assert summary.runner == "processes"  # not vectorized: the technique says so
    assert len(calls) == 1
    ctx, beta, previous = calls[0]
    assert beta == 0.5 and type(previous).__name__ == "LabelSmoothingCrossEntropy"
    assert isinstance(ctx.loss_fn, ConfidencePenaltyLoss) and ctx.loss_fn.beta == 0.5

    # the hook is what changed the run: baseline and the arm start from the same weights and data
    base, arm = run_one(specs[0]), run_one(specs[1])
    assert base.history["train_loss"] != arm.history["train_loss"]

    # every reader sees it
    assert regularization_setting(specs[1].to_dict()["regularization"]) == "confidence_penalty=0.5"
    assert supports([specs[1]]) == (False, "confidence_penalty=0.5 is not supported by the vectorized runner")
    assert "confidence_penalty" in sweep_fields() and technique_for_field("confidence_penalty") is technique
    assert resolve_field("confidence_penalty", argument="grid") == ("regularization", "custom", "confidence_penalty")
    sweep = load_config("sweep", overrides={**TINY, "out": str(tmp_path)}, grid=["confidence_penalty=0,0.5"])
    assert [s.regularization.custom for s in plan(sweep)] == [{"confidence_penalty": 0}, {"confidence_penalty": 0.5}]
    zero = run_one(plan(sweep)[0])  # at its `off` value the hook is not called: the baseline's numbers
    assert zero.history["train_loss"] == base.history["train_loss"] and len(calls) == 2
    views = [{"spec": s.to_dict(), "final": {"test_acc": 0.5, "train_acc": 0.6, "val_acc": 0.5}, "history": {},
              "diagnosis": None} for s in plan(sweep)]
    assert [s.field for s in find_sweeps(summarize_arms(views))] == ["confidence_penalty"]


def test_custom_fields_must_belong_to_a_registered_technique(confidence_penalty):
    with pytest.raises(ValueError) as exc:
        RegularizationSpec(custom={"confidence_penalty": math.inf})
    assert ("Invalid value for argument `confidence_penalty`. Expected a finite number in [0, inf). "
            "Received: confidence_penalty=inf") in str(exc.value)
    with pytest.raises(ValueError) as exc:
        RegularizationSpec(custom={"nope": 1.0})
    assert ("Invalid value for argument `custom`. Expected fields of registered techniques "
            "('confidence_penalty'). Received: custom='nope'") in str(exc.value)


def test_batch_transforms_chain_in_order_and_get_the_generator():
    ctx = TrainContext(spec=None, info=None)
    seen = []

    def shift(x, y):
        return x + 1, y

    def noisy(x, y, generator=None):
        seen.append(generator)
        return x * 2, y

    ctx.add_batch_transform(shift)
    assert ctx.batch_transform is shift  # one transform stays itself
    ctx.add_batch_transform(noisy)
    assert isinstance(ctx.batch_transform, Pipeline)
    g = torch.Generator()
    x, y = ctx.batch_transform(torch.ones(2), torch.zeros(2), generator=g)
    assert x.tolist() == [4.0, 4.0] and seen == [g]


def test_model_stage_hooks_edit_the_built_model():
    built = []

    def apply(ctx: TrainContext, value: float) -> None:
        ctx.edit_model(lambda model: built.append(model) or nn.Sequential(model, nn.Dropout(value)))

    register_technique(Technique("output_dropout", "dropout on the logits", "a test", acts_on=("model",),
                                 field="output_dropout", default=0.5, range=Range(0.0, 1.0), apply=apply))
    try:
        spec = RunSpec(epochs=1, batch_size=40, data={"name": "digits", "train_size": 80},
                       regularization={"custom": {"output_dropout": 0.25}})
        model, history, _ = train(spec, device="cpu", progress=False)
    finally:
        unregister_technique("output_dropout")
    assert model[0] is built[0] and isinstance(model[1], nn.Dropout) and model[1].p == 0.25
    assert history["epoch"] == [1]


def test_mixup_and_cutmix_share_one_transform():
    from types import SimpleNamespace

    from reglab.augment import MixupCutmix
    from reglab.experiments.execute import _apply_techniques

    info = SimpleNamespace(task="classification", num_classes=4)
    for reg, alphas in (({"mixup_alpha": 0.2, "cutmix_alpha": 1.0}, (0.2, 1.0)), ({"cutmix_alpha": 1.0}, (0.0, 1.0)),
                        ({"mixup_alpha": 0.4}, (0.4, 0.0))):
        ctx = TrainContext(spec=RunSpec(regularization=reg), info=info, model=nn.Identity())
        _apply_techniques(ctx, "batch")
        assert isinstance(ctx.batch_transform, MixupCutmix)
        assert (ctx.batch_transform.mixup_alpha, ctx.batch_transform.cutmix_alpha) == alphas


def test_run_scope_arms_edit_the_whole_spec_and_nothing_else_takes_them():
    from reglab.techniques import apply_arm, apply_arm_spec

    with pytest.raises(ValueError) as exc:
        Technique("model_swap", "swap the model", "paper", scope="model")
    assert str(exc.value) == ("Invalid value for argument `scope`. Expected one of 'regularization', 'run'. "
                              "Received: scope='model'")
    with pytest.raises(ValueError) as exc:
        Technique("model_swap", "swap the model", "paper", scope="run")
    assert str(exc.value) == ("Invalid value for argument `edit`. Expected an edit(run_spec_dict, value) function "
                              "for scope 'run'. Received: edit=None")
    with pytest.raises(ConfigError) as exc:
        apply_arm({}, "teacher", "mlp")
    assert str(exc.value) == ("Invalid value for argument `arms`. Expected an arm that edits only the "
                              "regularization (apply_arm_spec applies whole-run arms). Received: arms='teacher'")
    base = {"arm": "teacher", "epochs": 7, "model": {"name": "mlp", "options": {"width": 8}},
            "regularization": {"dropout": 0.2}}
    settings = {"teacher": {"name": "cnn1d", "options": {}}, "teachers": 1, "temperature": 3.0, "alpha": 0.5,
                "teacher_epochs": 9}
    assert apply_arm_spec(base, "teacher", distillation=settings) == {
        "arm": "teacher", "epochs": 9, "model": {"name": "cnn1d", "options": {}}, "regularization": {}}
    assert apply_arm_spec(base, "born_again=2", distillation=settings) == {
        "arm": "teacher", "epochs": 7, "model": {"name": "cnn1d", "options": {}},
        "regularization": {"dropout": 0.2, "distillation": {**settings, "teacher": None, "temperature": 2}}}
    assert apply_arm_spec(base, "dropout=0.5", distillation=settings) == {**base, "regularization": {"dropout": 0.5}}
    assert base["regularization"] == {"dropout": 0.2}  # the input is not edited
