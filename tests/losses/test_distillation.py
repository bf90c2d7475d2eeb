"""The distillation loss equals Hinton et al.'s formula computed by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from reglab.losses import DistillationLoss, distillation_loss


def _manual(student, teachers, target, temperature, alpha):
    """alpha * T^2 * KL(p_t || p_s) (batchmean) + (1 - alpha) * CE, written out from the paper."""
    p_t = torch.stack([torch.softmax(t / temperature, 1) for t in teachers]).mean(0)
    log_p_s = torch.log_softmax(student / temperature, 1)
    kl = (p_t * (p_t.log() - log_p_s)).sum() / student.shape[0]
    log_q = torch.log_softmax(student, 1)
    if target.is_floating_point():
        ce = -(target * log_q).sum(1).mean()
    else:
        ce = -log_q[torch.arange(student.shape[0]), target].mean()
    return alpha * temperature**2 * kl + (1 - alpha) * ce


def _data(gen, n=12, c=5, teachers=1):
    student = torch.randn(n, c, generator=gen, dtype=torch.float64) * 2
    ts = [torch.randn(n, c, generator=gen, dtype=torch.float64) * 3 for _ in range(teachers)]
    target = torch.randint(0, c, (n,), generator=gen)
    return student, ts, target


@pytest.mark.parametrize("temperature", [1.0, 4.0, 20.0])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 0.9, 1.0])
def test_single_teacher_equals_formula(gen, temperature, alpha):
    student, (teacher,), target = _data(gen)
    ours = distillation_loss(student, teacher, target, temperature, alpha)
    torch.testing.assert_close(ours, _manual(student, [teacher], target, temperature, alpha), rtol=0, atol=1e-6)


def test_alpha_limits_are_the_pure_terms(gen):
    student, (teacher,), target = _data(gen)
    torch.testing.assert_close(
        distillation_loss(student, teacher, target, 3.0, 0.0), F.cross_entropy(student, target), rtol=0, atol=0
    )
    kd = F.kl_div(
        torch.log_softmax(student / 3.0, 1), torch.softmax(teacher / 3.0, 1), reduction="batchmean"
    ) * 9.0
    torch.testing.assert_close(distillation_loss(student, teacher, None, 3.0, 1.0), kd, rtol=0, atol=1e-12)


def test_temperature_squared_scaling(gen):
    """With alpha=1 the loss is T^2 times the KL term: doubling T multiplies the factor by 4."""
    student, (teacher,), _ = _data(gen)
    for temperature in (2.0, 8.0):
        kl = F.kl_div(
            torch.log_softmax(student / temperature, 1), torch.softmax(teacher / temperature, 1), reduction="batchmean"
        )
        loss = distillation_loss(student, teacher, None, temperature, 1.0)
        torch.testing.assert_close(loss / kl, torch.tensor(temperature**2, dtype=torch.float64), rtol=1e-12, atol=0)


def test_identical_logits_give_zero_kd(gen):
    student, _, _ = _data(gen)
    assert distillation_loss(student, student.clone(), None, 4.0, 1.0).abs().item() < 1e-12


@pytest.mark.parametrize("alpha", [0.3, 1.0])
def test_ensemble_averages_softened_probabilities(gen, alpha):
    student, teachers, target = _data(gen, teachers=3)
    ours = distillation_loss(student, teachers, target, 5.0, alpha)
    torch.testing.assert_close(ours, _manual(student, teachers, target, 5.0, alpha), rtol=0, atol=1e-6)
    # averaging probabilities is not averaging logits
    mean_logits = torch.stack(teachers).mean(0)
    assert abs(ours.item() - distillation_loss(student, mean_logits, target, 5.0, alpha).item()) > 1e-3
    # a tuple works like a list, and a one-element list like the tensor itself
    torch.testing.assert_close(distillation_loss(student, tuple(teachers), target, 5.0, alpha), ours, rtol=0, atol=0)
    torch.testing.assert_close(
        distillation_loss(student, [teachers[0]], target, 5.0, alpha),
        distillation_loss(student, teachers[0], target, 5.0, alpha),
        rtol=0,
        atol=0,
    )


def test_soft_target_in_hard_term(gen):
    student, (teacher,), _ = _data(gen)
    q = torch.softmax(torch.randn(student.shape, generator=gen, dtype=torch.float64), 1)
    ours = distillation_loss(student, teacher, q, 2.0, 0.4)
    torch.testing.assert_close(ours, _manual(student, [teacher], q, 2.0, 0.4), rtol=0, atol=1e-6)


def test_teacher_is_detached_and_student_gets_gradient(gen):
    student, teachers, target = _data(gen, teachers=2)
    student.requires_grad_(True)
    for t in teachers:
        t.requires_grad_(True)
    DistillationLoss(temperature=2.0, alpha=0.5)(student, teachers, target).backward()
    assert all(t.grad is None for t in teachers)
    assert student.grad is not None and student.grad.abs().sum().item() > 0


def test_alpha_one_gradient_matches_formula(gen):
    """d/ds of T^2 KL(p_t || softmax(s/T)) / N = T (softmax(s/T) - p_t) / N."""
    student, (teacher,), _ = _data(gen)
    student.requires_grad_(True)
    distillation_loss(student, teacher, None, 4.0, 1.0).backward()
    expected = 4.0 * (torch.softmax(student.detach() / 4.0, 1) - torch.softmax(teacher / 4.0, 1)) / student.shape[0]
    torch.testing.assert_close(student.grad, expected, rtol=0, atol=1e-12)


def test_module_config_round_trip_and_registry():
    import reglab

    loss_fn = DistillationLoss(temperature=20.0, alpha=0.7)
    assert repr(loss_fn) == "DistillationLoss(temperature=20.0, alpha=0.7)"
    assert loss_fn.get_config() == {"temperature": 20.0, "alpha": 0.7}
    assert DistillationLoss.from_config(loss_fn.get_config()).get_config() == loss_fn.get_config()
    built = reglab.get("distillation", temperature=2.0)
    assert isinstance(built, DistillationLoss) and built.temperature == 2.0 and built.alpha == 0.9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"temperature": 0.0},
            "Invalid value for argument `temperature`. Expected a number in (0, inf). Received: temperature=0.0",
        ),
        ({"alpha": 1.2}, "Invalid value for argument `alpha`. Expected a number in [0, 1]. Received: alpha=1.2"),
    ],
)
def test_bad_hyperparameters_full_message(gen, kwargs, message):
    student, (teacher,), target = _data(gen)
    with pytest.raises(ValueError) as exc:
        DistillationLoss(**kwargs)
    assert str(exc.value) == message
    with pytest.raises(ValueError) as exc:
        distillation_loss(student, teacher, target, **kwargs)
    assert str(exc.value) == message


def test_bad_tensors_full_message(gen):
    student, teachers, target = _data(gen, n=4, c=3, teachers=2)
    cases = [
        (
            lambda: distillation_loss(student, teachers[0], None, 4.0, 0.9),
            "Invalid value for argument `target`. Expected labels or soft targets when alpha < 1 (alpha=0.9)."
            " Received: target=None",
        ),
        (
            lambda: distillation_loss(student, [], target),
            "Invalid value for argument `teacher_logits`. Expected a tensor or a non-empty list of tensors."
            " Received: teacher_logits=[]",
        ),
        (
            lambda: distillation_loss(student, "teacher", target),
            "Invalid value for argument `teacher_logits`. Expected a tensor or a non-empty list of tensors."
            " Received: teacher_logits of type str",
        ),
        (
            lambda: distillation_loss(student, [teachers[0], teachers[1][:, :2]], target),
            "Invalid value for argument `teacher_logits[1]`. Expected a tensor of the student logits' shape (4, 3)."
            " Received: teacher_logits[1].shape=(4, 2)",
        ),
        (
            lambda: distillation_loss(student[0], teachers[0][0], target[0]),
            "Invalid value for argument `student_logits`. Expected a tensor with 2 dimensions."
            " Received: student_logits.ndim=1 (shape (3,))",
        ),
    ]
    for call, message in cases:
        with pytest.raises(ValueError) as exc:
            call()
        assert str(exc.value) == message
