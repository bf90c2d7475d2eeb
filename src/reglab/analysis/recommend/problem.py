"""What the recommender reads (:class:`Problem`) and writes (:class:`Step`, :class:`Recommendation`).

A step is either a technique of ``reglab.techniques`` (``technique`` is its name, ``settings``
its ``RegularizationSpec`` field at a value inside the technique's range, ``arm`` the study arm
that tests it) or advice a study cannot express as an arm (pretrained weights, crop-and-flip
augmentation, a learning rate, weight drop ...; ``arm`` is None). :func:`technique_step` is the one
way a rule names a technique, so names, fields and ranges come from the Technique definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reglab._validate import check_choice
from reglab.analysis.recommend.sources import cite
from reglab.techniques import TECHNIQUES, get_technique

__all__ = [
    "FAMILIES", "MODALITIES", "TASKS", "VERDICTS", "MODEL_FAMILY", "SMALL_DATA", "TRANSFER_DATA",
    "FAR_TOO_LARGE_RATIO", "LIKELY_OVERFIT_RATIO", "OBSERVED_OVERFIT_GAP", "OBSERVED_MILD_GAP",
    "OBSERVED_UNDERFIT_SKILL", "Problem", "Step", "Recommendation", "family_of_model",
    "observed_verdict", "technique_step", "advice_step", "Plan",
]

FAMILIES = ("mlp", "cnn", "transformer", "rnn")
MODALITIES = ("image", "text", "tabular", "signal")
TASKS = ("classification", "language_model", "regression")
VERDICTS = ("overfitting", "mild overfitting", "good fit", "underfitting", "unknown")
#: reglab model names and common architecture names -> family (``resnet50`` etc.: any name
#: starting with ``resnet`` is a residual ``cnn``).
MODEL_FAMILY = {
    "mlp": "mlp", "cnn": "cnn", "cnn1d": "cnn", "cnn2d": "cnn", "resnet": "cnn",
    "transformer": "transformer", "vit": "transformer", "deit": "transformer", "bert": "transformer",
    "roberta": "transformer", "rnn": "rnn", "lstm": "rnn", "gru": "rnn", "awd-lstm": "rnn",
    "linear_head": "mlp", "autoencoder": "mlp",
}
#: The modality assumed when none is given or derivable from the dataset.
FAMILY_MODALITY = {"mlp": "tabular", "cnn": "image", "transformer": "text", "rnn": "text"}

#: Fewer training examples than this is "small data".
SMALL_DATA = 10_000
#: Image or text training sets below this size start from pretrained weights when the model is
#: trained from scratch (ImageNet-scale recipes train on 1.28 million images; on Kornblith et al.
#: 2019's 12 transfer sets fine-tuning matched or beat training from scratch, by wide margins on
#: the small ones).
TRANSFER_DATA = 100_000
#: Parameters per training example above which a from-scratch model can memorise the data outright.
FAR_TOO_LARGE_RATIO = 1_000
#: Without observed accuracies, expect overfitting from this many parameters per example.
LIKELY_OVERFIT_RATIO = 1.0
#: Observed train - val accuracy at or above this: overfitting (10 points).
OBSERVED_OVERFIT_GAP = 0.10
#: Observed gap at or above this (but below the overfitting one): mild overfitting (5 points).
OBSERVED_MILD_GAP = 0.05
#: Underfitting when the training accuracy's skill above chance, (acc - 1/K) / (1 - 1/K), is
#: below this and the gap is below OBSERVED_MILD_GAP.
OBSERVED_UNDERFIT_SKILL = 0.70


def family_of_model(name: str) -> str:
    """The family of a model or architecture name (``"resnet50"`` -> ``"cnn"``, ``"lstm"`` ->
    ``"rnn"``, ``"bert"`` -> ``"transformer"``)."""
    key = name.lower() if isinstance(name, str) else name
    if isinstance(key, str) and key.startswith("resnet"):
        key = "resnet"
    return check_choice("family", MODEL_FAMILY.get(key, key), FAMILIES)


def observed_verdict(train_acc: float, val_acc: float, num_classes: int) -> str:
    """Verdict from final accuracies alone (see the ``OBSERVED_*`` constants)."""
    gap = round(train_acc - val_acc, 9)  # 1.0 - 0.9 is a 10-point gap, not 0.0999...
    if gap >= OBSERVED_OVERFIT_GAP:
        return "overfitting"
    if gap >= OBSERVED_MILD_GAP:
        return "mild overfitting"
    chance = 1.0 / num_classes
    skill = round((train_acc - chance) / (1.0 - chance), 9)
    if skill < OBSERVED_UNDERFIT_SKILL:
        return "underfitting"
    return "good fit"


@dataclass(frozen=True)
class Problem:
    """The facts a rule reads (validated by :func:`reglab.analysis.recommend.recommend`).

    Attributes:
        family: ``"mlp"``, ``"cnn"``, ``"transformer"`` or ``"rnn"``.
        arch: the name the user gave (``"resnet50"``, ``"bert"``, ``"mlp"``).
        modality: ``"image"``, ``"text"``, ``"tabular"`` or ``"signal"``.
        task: ``"classification"``, ``"language_model"`` or ``"regression"``.
        n_train, num_classes, n_params: sizes.
        train_acc, val_acc: observed final accuracies (None: not observed).
        fine_tuning: the model starts from pretrained weights.
        residual: the model has residual blocks (stochastic depth applies).
        flips: horizontal flips keep the label (False for digits and text in images).
        verdict: one of :data:`VERDICTS`.
    """

    family: str
    arch: str
    modality: str
    task: str
    n_train: int
    num_classes: int
    n_params: int
    train_acc: float | None
    val_acc: float | None
    fine_tuning: bool
    residual: bool
    flips: bool
    verdict: str

    @property
    def ratio(self) -> float:
        return self.n_params / self.n_train

    @property
    def small(self) -> bool:
        return self.n_train < SMALL_DATA

    @property
    def overfits(self) -> bool:
        """Overfitting observed, or expected (nothing observed yet)."""
        return self.verdict in ("overfitting", "mild overfitting", "unknown")

    def size_text(self) -> str:
        return (f"{self.n_params:,} parameters for {self.n_train:,} training examples "
                f"({self.ratio:,.1f} per example)")

    def observed_text(self) -> str:
        if self.train_acc is None or self.val_acc is None:
            return "no accuracies observed yet"
        return (f"training accuracy {100 * self.train_acc:.1f}% vs validation "
                f"{100 * self.val_acc:.1f}%, a gap of {100 * (self.train_acc - self.val_acc):.1f} points")


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if value.is_integer():
            return f"{value:.1f}"  # 1.0 stays a float
        return f"{value:g}".replace("e-0", "e-")  # 2e-05 -> 2e-5
    if isinstance(value, dict):
        return "(" + ", ".join(f"{a}={_fmt(b)}" for a, b in value.items()) + ")"
    return str(value)


@dataclass(frozen=True)
class Step:
    """One step of the strategy.

    Attributes:
        technique: the ``reglab.techniques`` name (``"weight_decay"``) for a technique step, else
            a short name of the advice (``"pretrained weights"``).
        settings: starting values: the technique's ``RegularizationSpec`` field, or the advice's
            own keys (``lr``, ``epochs``, ``warmup_ratio``, ``weight_drop`` ...); empty for advice
            without a number.
        reason: why, in a sentence or two.
        arm: the study arm that tests the step (``"weight_decay=0.01"``), or None.
        source: the citation of the recipe the step comes from.
        evidence: what a run store measured for it (``"measured: dropout=0.2 +3.1 points
            [+1.2, +5.0] over 3 seeds"``), or None.
        core: part of the recipe's base (kept when the fit is good); False for steps taken only
            while a gap persists.
    """

    technique: str
    settings: dict[str, Any]
    reason: str
    arm: str | None = None
    source: str = ""
    evidence: str | None = None
    core: bool = True

    @property
    def is_technique(self) -> bool:
        return self.technique in TECHNIQUES

    def settings_text(self) -> str:
        if not self.settings:
            return "no setting (advice)"
        parts = []
        for k, v in self.settings.items():
            if k == "epochs_factor":
                parts.append(f"epochs x{v}")
            elif isinstance(v, dict):
                parts.append(f"{k}{_fmt(v)}")
            else:
                parts.append(f"{k}={_fmt(v)}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"technique": self.technique, "settings": self.settings, "reason": self.reason,
                "arm": self.arm, "source": self.source, "evidence": self.evidence,
                "core": self.core}


@dataclass(frozen=True)
class Recommendation:
    """The ordered strategy and the facts it was derived from.

    ``avoid`` lists what not to do here, with the reason (extra dropout on BERT, mixup of token
    ids, a technique a store measured to hurt); ``notes`` are remarks beside the strategy (a
    baseline to compare against, the seeds fine-tuning needs).
    """

    problem: Problem
    summary: str
    steps: list[Step]
    warnings: list[str] = field(default_factory=list)
    avoid: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: The regularization the observed run already had (``recommend(current=...)``), when it was
    #: taken into account; the emitted study starts from it.
    current: dict[str, Any] | None = None
    #: The recipe that applied (``"image classification from scratch on little data"``).
    scenario: str = ""

    @property
    def family(self) -> str:
        return self.problem.family

    @property
    def verdict(self) -> str:
        return self.problem.verdict

    @property
    def fine_tuning(self) -> bool:
        return self.problem.fine_tuning

    @property
    def n_train(self) -> int:
        return self.problem.n_train

    @property
    def params_per_example(self) -> float:
        return self.problem.ratio

    def study_arms(self) -> list[str]:
        """The arms of the study that tests the strategy: ``baseline`` and each technique step
        at exactly its recommended value, in the strategy's order."""
        return list(dict.fromkeys(["baseline"] + [s.arm for s in self.steps if s.arm]))

    def to_dict(self) -> dict[str, Any]:
        p = self.problem
        return {
            "family": p.family, "arch": p.arch, "modality": p.modality, "task": p.task,
            "n_train": p.n_train, "num_classes": p.num_classes, "n_params": p.n_params,
            "train_acc": p.train_acc, "val_acc": p.val_acc, "fine_tuning": p.fine_tuning,
            "residual": p.residual, "flips": p.flips, "verdict": p.verdict,
            "scenario": self.scenario, "summary": self.summary, "steps": [s.to_dict() for s in self.steps],
            "warnings": list(self.warnings), "avoid": list(self.avoid), "notes": list(self.notes),
            "current": self.current,
        }


def technique_step(name: str, value: Any, reason: str, *sources: str, core: bool = True) -> Step:
    """A step that sets technique ``name`` (or an alias) to ``value``, checked against the
    technique's range; its arm is ``"<name>=<value>"``. ``early_stopping``'s value is the patience
    in epochs (validation accuracy monitored, best weights restored: the technique's arm)."""
    technique = get_technique(name)
    value = technique.validate(value)
    if technique.name == "early_stopping":
        settings: dict[str, Any] = {"early_stopping": {"monitor": "val_acc", "patience": value}}
    else:
        settings = {technique.field: value}
    return Step(technique.name, settings, reason, arm=f"{technique.name}={_fmt(value)}",
                source=cite(*sources), core=core)


def advice_step(name: str, settings: dict[str, Any], reason: str, *sources: str, core: bool = True) -> Step:
    """A step a study arm cannot express (``arm`` None)."""
    if name in TECHNIQUES:
        raise ValueError(f"advice step {name!r} names a technique: use technique_step")
    return Step(name, dict(settings), reason, source=cite(*sources), core=core)


@dataclass
class Plan:
    """What a scenario's rule returns: its name, the steps in order, what to avoid, notes and the
    one-line headline of the summary."""

    scenario: str
    headline: str
    steps: list[Step]
    avoid: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
