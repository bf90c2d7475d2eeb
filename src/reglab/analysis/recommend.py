"""Recommend an ordered regularization strategy for a model and a dataset.

The strategy follows the usual practice of the literature, cheapest and safest first:

1. Decoupled weight decay 0.01 with AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay
   Regularization", ICLR, arXiv:1711.05101) and early stopping on the validation accuracy with
   the best weights restored (Prechelt 1998, "Early Stopping - But When?").
2. Label smoothing 0.1 for transformers (Szegedy et al. 2016, arXiv:1512.00567; Vaswani et al.
   2017, arXiv:1706.03762, used 0.1).
3. If overfitting persists: dropout (Srivastava et al. 2014, JMLR 15), then data augmentation
   (mixup, Zhang et al. 2018, arXiv:1710.09412; input noise, Bishop 1995).
4. Fine-tuning a pretrained model on small data: stronger decay, a small learning rate, shorter
   patience, dropout and label smoothing from the start (Howard & Ruder 2018, arXiv:1801.06146;
   Kornblith et al. 2019, arXiv:1805.08974).
5. Underfitting: take regularization away first, then train longer or use a larger model.

A model with more than :data:`FAR_TOO_LARGE_RATIO` parameters per training example, trained from
scratch, gets a warning: it can memorise the data outright and regularization only partly helps.
All thresholds are named constants below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reglab._validate import check_choice, check_int, check_probability
from reglab.errors import invalid_argument
from reglab.techniques import technique_for_field

__all__ = [
    "FAMILIES",
    "MODEL_FAMILY",
    "Step",
    "Recommendation",
    "recommend",
    "study_config",
    "family_of_model",
    "observed_verdict",
    "SMALL_DATA",
    "FAR_TOO_LARGE_RATIO",
    "LIKELY_OVERFIT_RATIO",
    "OBSERVED_OVERFIT_GAP",
    "OBSERVED_MILD_GAP",
    "OBSERVED_UNDERFIT_SKILL",
]

FAMILIES = ("mlp", "cnn", "transformer", "rnn")
#: reglab model names (``reglab.models.available()``) and common aliases -> family.
MODEL_FAMILY = {
    "mlp": "mlp", "cnn": "cnn", "cnn1d": "cnn", "cnn2d": "cnn", "resnet": "cnn",
    "transformer": "transformer", "vit": "transformer", "rnn": "rnn", "lstm": "rnn", "gru": "rnn",
    "linear_head": "mlp", "autoencoder": "mlp",
}
#: The reglab reference model a study uses for each family (``cnn`` on images: ``cnn2d``).
FAMILY_MODEL = {"mlp": "mlp", "cnn": "cnn1d", "transformer": "transformer", "rnn": "lstm"}

#: Fewer training examples than this is "small data".
SMALL_DATA = 10_000
#: Parameters per training example above which a from-scratch model is far too large.
FAR_TOO_LARGE_RATIO = 1_000
#: The size suggested instead of a far-too-large model, in parameters per example.
SUGGESTED_MAX_RATIO = 100
#: Without observed accuracies, expect overfitting from this many parameters per example.
LIKELY_OVERFIT_RATIO = 1.0
#: Observed train - val accuracy at or above this: overfitting (10 points).
OBSERVED_OVERFIT_GAP = 0.10
#: Observed gap at or above this (but below the overfitting one): mild overfitting (5 points).
OBSERVED_MILD_GAP = 0.05
#: Underfitting when the training accuracy's skill above chance, (acc - 1/K) / (1 - 1/K), is
#: below this and the gap is below OBSERVED_MILD_GAP.
OBSERVED_UNDERFIT_SKILL = 0.70

#: Early-stopping patience in epochs (validation accuracy monitored, as the study's
#: ``early_stopping`` arm does), and the shorter one for fine-tuning on small data.
EARLY_STOPPING_PATIENCE = 20
EARLY_STOPPING_PATIENCE_FINE_TUNING = 5
#: Overfitting with a technique already at (or above) its starting value: weight decay, input
#: noise and mixup alpha are multiplied by this (about half a decade, a log-grid step).
RAISE_FACTOR = 3.0
#: Dropout is raised by 0.1 per step up to this rate (Srivastava et al. 2014's 0.5).
DROPOUT_MAX = 0.5
#: Dropout starting rate per family (Srivastava et al. 2014 use 0.5 for wide layers; small nets,
#: convolutions, attention and recurrent stacks start lower).
DROPOUT_START = {"mlp": 0.2, "cnn": 0.1, "transformer": 0.1, "rnn": 0.2}
#: Augmentation per family: (RegularizationSpec field, starting value, what it is).
AUGMENTATION = {
    "mlp": ("input_noise", 0.1, "Gaussian input noise with std 0.1 on standardised inputs (Bishop 1995)"),
    "cnn": ("mixup_alpha", 0.2, "mixup with alpha 0.2 (Zhang et al. 2018); CutMix alpha 1.0 on images"),
    "transformer": ("mixup_alpha", 0.2, "mixup with alpha 0.2 (Zhang et al. 2018)"),
    "rnn": ("input_noise", 0.05, "Gaussian input noise with std 0.05 on standardised inputs"),
}


@dataclass(frozen=True)
class Step:
    """One step of the strategy.

    Attributes:
        technique: short name (``"weight decay (AdamW)"``).
        settings: starting values as run-spec fields: ``RegularizationSpec`` fields
            (``weight_decay``, ``dropout``, ``early_stopping`` ...), ``lr`` (optimizer) or
            ``epochs_factor`` (multiply the epochs); empty for advice a study cannot express.
        reason: why, in a sentence or two.
        arm: the study arm that tests the step (``"weight_decay=0.01"``), or None.
    """

    technique: str
    settings: dict[str, Any]
    reason: str
    arm: str | None = None

    def settings_text(self) -> str:
        if not self.settings:
            return "no setting (advice)"
        parts = []
        for k, v in self.settings.items():
            if k == "epochs_factor":
                parts.append(f"epochs x{v}")
            elif isinstance(v, dict):
                parts.append(f"{k}(" + ", ".join(f"{a}={b}" for a, b in v.items()) + ")")
            else:
                parts.append(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Recommendation:
    """The ordered strategy and the facts it was derived from."""

    family: str
    n_train: int
    num_classes: int
    n_params: int
    train_acc: float | None
    val_acc: float | None
    fine_tuning: bool
    verdict: str  # "overfitting", "mild overfitting", "good fit", "underfitting", "unknown"
    summary: str
    steps: list[Step]
    warnings: list[str] = field(default_factory=list)
    #: The regularization the observed run already had (``recommend(current=...)``), when it
    #: was taken into account; the emitted study starts from it.
    current: dict[str, Any] | None = None

    @property
    def params_per_example(self) -> float:
        return self.n_params / self.n_train

    def study_arms(self) -> list[str]:
        """The arms of the study that validates the strategy: the baseline, each step that a
        study can express alone, and the ``stack`` (dropout + weight decay + early stopping)
        when overfitting is observed or expected."""
        arms = ["baseline"] + [s.arm for s in self.steps if s.arm]
        if self.verdict in ("overfitting", "mild overfitting", "unknown"):
            arms.append("stack")
        return list(dict.fromkeys(arms))

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family, "n_train": self.n_train, "num_classes": self.num_classes,
            "n_params": self.n_params, "train_acc": self.train_acc, "val_acc": self.val_acc,
            "fine_tuning": self.fine_tuning, "verdict": self.verdict, "summary": self.summary,
            "steps": [{"technique": s.technique, "settings": s.settings, "reason": s.reason,
                       "arm": s.arm} for s in self.steps],
            "warnings": list(self.warnings), "current": self.current,
        }


def family_of_model(name: str) -> str:
    """The family of a reglab model name (``"resnet"`` -> ``"cnn"``, ``"lstm"`` -> ``"rnn"``)."""
    return check_choice("family", MODEL_FAMILY.get(name, name), FAMILIES)


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


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def recommend(
    family: str,
    n_train: int,
    num_classes: int,
    n_params: int,
    train_acc: float | None = None,
    val_acc: float | None = None,
    *,
    fine_tuning: bool = False,
    current: Mapping[str, Any] | None = None,
) -> Recommendation:
    """An ordered regularization strategy with starting values and the reason for each step.

    Args:
        family: ``"mlp"``, ``"cnn"``, ``"transformer"`` or ``"rnn"`` (reglab model names such as
            ``"resnet"`` or ``"lstm"`` are mapped to their family).
        n_train: number of training examples (>= 1).
        num_classes: number of classes (>= 2).
        n_params: number of trainable parameters (>= 1).
        train_acc: observed final training accuracy in [0, 1]; give it with ``val_acc``.
            Defaults to None (judge from the size ratio alone).
        val_acc: observed final validation accuracy in [0, 1]. Defaults to None.
        fine_tuning: the model starts from pretrained weights. Defaults to False.
        current: the regularization the observed run already used (``RegularizationSpec``
            fields, e.g. a stored run's ``spec.regularization``). Steps already applied say so;
            when overfitting, their strength is raised (weight decay and noise x
            :data:`RAISE_FACTOR`-ish, dropout + 0.1 up to :data:`DROPOUT_MAX`). Defaults to None.

    Returns:
        A :class:`Recommendation` whose ``steps`` are in the order to try them.
    """
    rec = _recommend(family, n_train, num_classes, n_params, train_acc, val_acc,
                     fine_tuning=fine_tuning)
    return _account_for_current(rec, current) if current else rec


def _recommend(
    family: str,
    n_train: int,
    num_classes: int,
    n_params: int,
    train_acc: float | None,
    val_acc: float | None,
    *,
    fine_tuning: bool,
) -> Recommendation:
    family = family_of_model(family) if isinstance(family, str) else check_choice("family", family, FAMILIES)
    n_train = check_int("n_train", n_train, low=1)
    num_classes = check_int("num_classes", num_classes, low=2)
    n_params = check_int("n_params", n_params, low=1)
    if (train_acc is None) != (val_acc is None):
        missing = "val_acc" if val_acc is None else "train_acc"
        raise ValueError(invalid_argument(
            missing, "a number in [0, 1] (give train_acc and val_acc together)", None))
    if train_acc is not None:
        train_acc = check_probability("train_acc", train_acc)
        val_acc = check_probability("val_acc", val_acc)
    ratio = n_params / n_train
    small = n_train < SMALL_DATA
    warnings: list[str] = []

    if train_acc is not None and val_acc is not None:
        verdict = observed_verdict(train_acc, val_acc, num_classes)
        gap = train_acc - val_acc
        observed = (f"training accuracy {_pct(train_acc)} vs validation {_pct(val_acc)}, "
                    f"a gap of {100 * gap:.1f} points")
    else:
        verdict = "unknown"
        observed = "no accuracies observed yet"
    size = (f"{n_params:,} parameters for {n_train:,} training examples "
            f"({ratio:,.1f} per example)")

    if ratio > FAR_TOO_LARGE_RATIO and not fine_tuning:
        warnings.append(
            f"The model is far too large for the data: {size}, above {FAR_TOO_LARGE_RATIO:,}. "
            f"It can memorise the training set outright and regularization only partly "
            f"compensates; use a model under {n_train * SUGGESTED_MAX_RATIO:,} parameters "
            f"({SUGGESTED_MAX_RATIO} per example) or collect more data."
        )

    steps: list[Step] = []
    if verdict == "underfitting":
        steps.append(Step(
            "reduce regularization",
            {"weight_decay": 0.0001, "dropout": 0.0, "label_smoothing": 0.0, "mixup_alpha": 0.0,
             "input_noise": 0.0},
            f"Underfitting: {observed} - the model does not fit even the training data, and every "
            "regularizer makes that harder. Remove dropout, augmentation and label smoothing and "
            "keep weight decay at 1e-4 or less.",
            arm="weight_decay=0.0001",
        ))
        steps.append(Step(
            "train longer",
            {"epochs_factor": 2},
            "If the training loss was still falling at the last epoch, twice the epochs (or a "
            "higher learning rate) lets the model fit before any regularizer is added back.",
        ))
        steps.append(Step(
            "larger model",
            {},
            f"With {size}, a wider or deeper {family} has room to fit the data; add "
            "regularization back only once the training accuracy is high and a gap appears.",
        ))
        summary = (f"Underfitting ({observed}): reduce regularization first, then train longer "
                   "or use a larger model.")
        return Recommendation(family, n_train, num_classes, n_params, train_acc, val_acc,
                              fine_tuning, verdict, summary, steps, warnings)

    ft_small = fine_tuning and small
    wd = 0.05 if ft_small else 0.01
    patience = EARLY_STOPPING_PATIENCE_FINE_TUNING if ft_small else EARLY_STOPPING_PATIENCE
    if ft_small:
        steps.append(Step(
            "small learning rate (fine-tuning)",
            {"lr": 0.0001},
            f"Fine-tuning on small data ({n_train:,} examples, fewer than {SMALL_DATA:,}): a "
            "small learning rate (1e-4 with AdamW) keeps the pretrained features, which is "
            "itself the strongest regularizer; freeze the lower layers if the gap stays large.",
        ))
    steps.append(Step(
        "weight decay (AdamW)",
        {"weight_decay": wd},
        (f"Decoupled weight decay is cheap, rarely hurts and is the standard first step "
         f"(Loshchilov & Hutter 2019); {wd:g} "
         + ("is stronger than the usual 0.01 because a pretrained model fine-tuned on little "
            "data overfits quickly." if ft_small else "is AdamW's customary starting value.")
         + " Biases and normalization weights are not decayed."),
        arm=f"weight_decay={wd:g}",
    ))
    steps.append(Step(
        "early stopping",
        {"early_stopping": {"monitor": "val_acc", "patience": patience}},
        (f"Stop when the validation accuracy has not improved for {patience} epochs and restore "
         "the best weights (Prechelt 1998): it removes late-epoch overfitting at no cost"
         + (", with a short patience because fine-tuning converges in few epochs." if ft_small
            else ".")
         + " Monitor accuracy rather than loss: the validation loss often bottoms out well "
           "before the accuracy stops improving (on MNIST-1D stopping on the loss cost 4.6 "
           "points)."),
        arm=f"early_stopping={patience}",
    ))
    if family == "transformer" or ft_small:
        steps.append(Step(
            "label smoothing",
            {"label_smoothing": 0.1},
            ("Transformers become overconfident; label smoothing 0.1 (Szegedy et al. 2016), the "
             "value of the original Transformer (Vaswani et al. 2017), improves accuracy and "
             "calibration." if family == "transformer" else
             "On small fine-tuning sets label smoothing 0.1 (Szegedy et al. 2016) keeps the new "
             "head from becoming overconfident on few examples."),
            arm="label_smoothing=0.1",
        ))
    if verdict == "good fit":
        summary = (f"Good fit ({observed}): keep light regularization - weight decay {wd:g} with "
                   "AdamW and early stopping; more would likely cost accuracy.")
        return Recommendation(family, n_train, num_classes, n_params, train_acc, val_acc,
                              fine_tuning, verdict, summary, steps, warnings)

    p = 0.1 if ft_small else DROPOUT_START[family]
    persists = "If overfitting persists" if verdict != "unknown" else "If a gap appears"
    steps.append(Step(
        "dropout",
        {"dropout": p},
        (f"{persists}: dropout {p:g} (Srivastava et al. 2014) on the hidden layers"
         + {"mlp": "; raise toward 0.5 for wide layers if the gap stays large.",
            "cnn": " and up to 0.5 before the classifier; convolutions need less.",
            "transformer": " on attention and MLP blocks, as in the original Transformer.",
            "rnn": " between recurrent layers (not on the recurrent connections)."}[family]),
        arm=f"dropout={p:g}",
    ))
    aug_field, aug_value, aug_text = AUGMENTATION[family]
    aug_arm = technique_for_field(aug_field).name
    steps.append(Step(
        "data augmentation",
        {aug_field: aug_value},
        f"{persists} after dropout: augmentation adds plausible examples the model cannot "
        f"memorise: {aug_text}.",
        arm=f"{aug_arm}={aug_value:g}",
    ))
    if verdict == "unknown":
        lead = "likely" if ratio >= LIKELY_OVERFIT_RATIO else "possible"
        summary = (f"No accuracies observed; with {size}, overfitting is {lead}. Start with "
                   f"weight decay "
                   f"{wd:g} (AdamW) and early stopping, measure the train-val gap, then go down "
                   "the list.")
    else:
        kind = "Overfitting" if verdict == "overfitting" else "Mild overfitting"
        summary = (f"{kind} ({observed}; {size}): weight decay {wd:g} with AdamW and early "
                   "stopping first, then dropout and augmentation while the gap persists.")
    if ft_small:
        summary += " Fine-tuning on small data: regularize more than usual."
    return Recommendation(family, n_train, num_classes, n_params, train_acc, val_acc,
                          fine_tuning, verdict, summary, steps, warnings)


def study_config(
    rec: Recommendation,
    *,
    base: Any = None,
    dataset: str | None = None,
    seeds: int = 3,
    epochs: int | None = None,
    name: str | None = None,
) -> Any:
    """The ``StudyConfig`` (``reglab study --config``) that tests ``rec`` step by step.

    Args:
        rec: the recommendation.
        base: a ``RunSpec`` (e.g. a stored run) whose data, model, optimizer, batch size and
            epochs the study reuses. Its regularization is not copied; the study's shared
            ``regularization`` is ``rec.current`` when the recommendation took the current
            regularization into account (so ``baseline`` is the observed setting and each arm
            changes one thing), else none. Defaults to None: the dataset below with the
            family's reference model.
        dataset: dataset name when there is no ``base``. Defaults to ``"mnist1d"``.
        seeds: seeds per arm (>= 2 for intervals). Defaults to 3.
        epochs: epochs per run. Defaults to the base's, else the study default; doubled when the
            verdict is underfitting ("train longer").
        name: the study name. Defaults to ``"recommend-<family>"``.
    """
    import json

    from pydantic import ValidationError

    from reglab.experiments.config import DEFAULT_EPOCHS, StudyConfig, config_error

    check_int("seeds", seeds, low=1)
    if epochs is not None:
        check_int("epochs", epochs, low=1)
    data: dict[str, Any] = {}
    if base is not None:
        spec = base.to_dict() if hasattr(base, "to_dict") else dict(base)
        data.update(
            epochs=spec["epochs"], batch_size=spec["batch_size"], data=spec["data"],
            model=spec["model"], optimizer=spec["optimizer"],
        )
    else:
        ds = dataset or "mnist1d"
        model = FAMILY_MODEL[rec.family]
        if rec.family == "cnn" and ds != "mnist1d":
            model = "cnn2d"
        data.update(data={"name": ds}, model={"name": model})
    if epochs is not None:
        data["epochs"] = epochs
    if rec.verdict == "underfitting":
        data["epochs"] = 2 * int(data.get("epochs", DEFAULT_EPOCHS))
    if rec.current:
        data["regularization"] = dict(rec.current)
    data.update(name=name or f"recommend-{rec.family}", seeds=seeds, arms=rec.study_arms())
    try:
        return StudyConfig.model_validate({"kind": "study", **json.loads(json.dumps(data))})
    except ValidationError as exc:
        raise config_error(exc, StudyConfig) from None


def _g(x: float) -> float:
    """Two significant digits: 0.030000000000000002 -> 0.03."""
    return float(f"{x:.2g}")


def _account_for_current(rec: Recommendation, current: Mapping[str, Any]) -> Recommendation:
    """Adjust ``rec`` to the regularization the observed run already had."""
    from reglab.analysis.effects import regularization_setting

    setting = regularization_setting(current)
    if setting == "none":
        return rec
    if rec.verdict == "underfitting":
        steps = list(rec.steps)
        steps[0] = replace(steps[0], reason=steps[0].reason + f" Currently on: {setting}.")
        return replace(rec, steps=steps, summary=rec.summary + f" Current regularization: {setting}.")
    raise_ = rec.verdict in ("overfitting", "mild overfitting")
    steps = []
    for step in rec.steps:
        new = step
        for key, start in step.settings.items():
            cur = current.get(key)
            if key == "early_stopping":
                if cur:
                    keep = ", ".join(f"{k} {v}" for k, v in cur.items() if k in ("monitor", "patience"))
                    new = replace(step, arm=None, reason=f"Already on ({keep}); keep it.")
                continue
            technique = technique_for_field(key)
            if not isinstance(start, (int, float)) or technique is None:
                continue
            if not cur or not start or cur < start:
                continue
            if not raise_ or key == "label_smoothing":
                new = replace(step, settings={key: cur}, arm=None,
                              reason=f"Already at {cur:g}; keep it. " + step.reason)
            elif key == "dropout" and cur >= DROPOUT_MAX:
                new = replace(step, settings={key: cur}, arm=None,
                              reason=f"Already at {cur:g}, the usual maximum; rely on the other "
                                     "steps.")
            elif key == "dropout":
                up = _g(min(cur + 0.1, DROPOUT_MAX))
                new = replace(step, settings={key: up}, arm=f"dropout={up:g}",
                              reason=f"Already at {cur:g} and the model still overfits: raise it "
                                     f"to {up:g} (at most {DROPOUT_MAX:g}).")
            else:
                up = _g(cur * RAISE_FACTOR)
                new = replace(step, settings={key: up}, arm=f"{technique.name}={up:g}",
                              reason=f"Already at {cur:g} and the model still overfits: raise it "
                                     f"to {up:g}, one step up a log grid.")
        steps.append(new)
    note = (" Steps already applied say so; those that still fall short are raised."
            if raise_ else " Steps already applied say so.")
    return replace(rec, steps=steps, current=dict(current),
                   summary=rec.summary + f" Current regularization: {setting}.{note}")
