"""Diagnose one run from its learning curves: underfitting, good fit or overfitting.

The verdict follows the textbook reading of learning curves (Goodfellow, Bengio & Courville 2016,
*Deep Learning*, sections 5.2 and 7.8; Prechelt 1998, "Early Stopping - But When?"): a model
overfits when its validation loss turns up after a minimum while the training loss keeps falling
and the train-validation gap grows; it underfits when even the training loss stays high and the
gap is small. Every threshold is a named constant of this module, so a verdict can be traced to
one rule.

The *gap* is the one of :mod:`reglab.analysis.quantities`: ``train_acc - val_acc`` of the
final weights measured in eval mode (``RunResult.final``; 0.34 = 34 points) for classification,
``val_loss - train_loss`` for regression: the same number as the report's table. The history's
training metrics are running averages with the regularizers active, so they never decide a
verdict; only its validation curve (eval mode, every epoch) does. Without ``final`` (a live curve,
as in the web lab) the last epoch's recorded values stand in. The *best epoch* is the epoch of the
lowest validation loss (first on ties), numbered from 1. An overfitting sentence advises stopping
at the epoch of the highest validation accuracy when it differs: accuracy often keeps improving
after the loss minimum (the loss also punishes confident mistakes).

Rules, checked in this order (a verdict never contradicts the gap it prints: "overfitting" needs
a positive gap, "good fit" a gap below the large-gap threshold and no validation-loss rise unless
its gap is below 5 points, "underfitting" a gap below the large-gap threshold):

1. **Diverged** (-> underfitting): the last training or validation loss is not finite, or (the
   number of classes ``K`` known) the last training loss is more than :data:`EXPLODED_LOSS_FACTOR`
   (10) times the chance-level loss ``ln K``: a finite loss that large means the steps threw the
   weights far away (``--lr 1e6`` ends at ~1e11), not that the model is too weak.
2. **Overfitting, loss turned up**: the final weights' validation loss is more than
   :data:`OVERFIT_VAL_RISE` (10%) above the curve's minimum (after early stopping restored the
   best weights, it is the minimum: the curve's later rise was avoided) and the gap is at least
   :data:`OVERFIT_MIN_GAP` (5 accuracy points; regression: positive). A rise with a smaller gap
   is overconfidence that costs no accuracy: the good-fit sentence says so.
3. **Overfitting, large gap**: for classification, the gap is at least
   :data:`OVERFIT_LARGE_GAP` (0.20) even though the validation loss did not turn up; for
   regression, the final weights' loss gap is at least their training loss itself (validation
   loss at least twice the training loss, for a positive loss such as the MSE), a ratio that does
   not depend on the target's units.
4. **Underfitting**: the gap is small (classification: ``|gap|`` below
   :data:`UNDERFIT_MAX_GAP`, 0.20, the large-gap threshold, so the verdicts split the gap axis
   without overlap; regression: validation loss below twice the training loss)
   and the training loss of the final weights is still high: at least
   :data:`UNDERFIT_LOSS_FRACTION` (40%) of the chance-level loss ``ln K`` when the number of
   classes ``K`` is known; otherwise training accuracy below :data:`UNDERFIT_TRAIN_ACC` (0.70);
   for regression, the training loss fell by less than :data:`UNDERFIT_MIN_IMPROVEMENT` (50%)
   from epoch 1.
5. Otherwise **good fit**.

The underfitting thresholds were set with ``benchmarks/diagnosis_calibration.py``, which trains runs
whose regime is known by construction (a linear model and a weight-decay-held MLP on MNIST-1D
underfit; a small MLP at the Bayes rate of noisy two moons does not), on the running training
loss of the time. Re-measured with the single gap definition (final weights, eval mode), the
tuning set agrees on 19 of 24 runs: the "dropout + early stopping" construction ends at 90%
training vs 65% validation accuracy in eval mode, a 25-point gap that the running accuracy hid,
so it is overfitting by this module's own rule; two of three weight-decay runs end at 0.39 ln K,
just under the threshold. On a held-out set never used to choose a threshold (other datasets,
sizes and seeds: ``--set heldout``) 22 of 24 agree. A verdict reads curves only: it cannot tell
underfitting from a dataset's irreducible error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from reglab._validate import check_int
from reglab.analysis import quantities as Q
from reglab.errors import invalid_argument

__all__ = [
    "Diagnosis",
    "diagnose",
    "OVERFIT_VAL_RISE",
    "OVERFIT_MIN_GAP",
    "OVERFIT_LARGE_GAP",
    "UNDERFIT_MAX_GAP",
    "UNDERFIT_LOSS_FRACTION",
    "UNDERFIT_TRAIN_ACC",
    "UNDERFIT_MIN_IMPROVEMENT",
    "VERDICTS",
]

#: Overfitting: the last validation loss exceeds its minimum by more than this fraction (10%).
OVERFIT_VAL_RISE = 0.10
#: ...with a gap of at least this (accuracy fraction, 5 points; regression: any positive gap).
OVERFIT_MIN_GAP = 0.05
#: Overfitting regardless of the loss trend: an accuracy gap this large at the end (20 points).
OVERFIT_LARGE_GAP = 0.20
#: Underfitting needs a gap below this (accuracy fraction, 20 points: the large-gap threshold).
UNDERFIT_MAX_GAP = OVERFIT_LARGE_GAP
#: Underfitting when the final training loss is at least this fraction of ln(num_classes).
UNDERFIT_LOSS_FRACTION = 0.40
#: Diverged when the final training loss exceeds this multiple of ln(num_classes).
EXPLODED_LOSS_FACTOR = 10.0
#: Underfitting (num_classes unknown) when the final training accuracy is below this.
UNDERFIT_TRAIN_ACC = 0.70
#: Underfitting (regression) when the training loss fell by less than this fraction from epoch 1.
UNDERFIT_MIN_IMPROVEMENT = 0.5

VERDICTS = ("underfitting", "good fit", "overfitting")


@dataclass(frozen=True)
class Diagnosis:
    """The verdict on one run, the numbers behind it and a sentence a user can read.

    ``rule`` names the rule that decided (``"diverged"``, ``"val_loss_rise"``, ``"large_gap"``,
    ``"high_train_loss"``, ``"low_train_acc"``, ``"slow_train_loss"``, ``"none"``). ``gap`` is
    :func:`reglab.analysis.quantities.gap` of the final metrics (``gap_kind`` says which).
    """

    verdict: str
    rule: str
    best_epoch: int
    last_epoch: int
    min_val_loss: float
    final_val_loss: float
    val_loss_rise: float
    gap: float
    gap_kind: str  # "accuracy" or "loss"
    train_loss_end: float
    train_acc_end: float | None
    val_acc_end: float | None
    val_acc_best: float | None
    peak_val_acc_epoch: int | None  # first epoch of the highest validation accuracy
    chance_loss: float | None
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible values (NaN/inf become None)."""
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, float) and not math.isfinite(v):
                out[k] = None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Diagnosis:
        """Rebuild from :meth:`to_dict` output (keys of older versions are ignored)."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        for k in ("min_val_loss", "final_val_loss", "val_loss_rise", "gap", "train_loss_end"):
            if values.get(k) is None:
                values[k] = math.nan
        return cls(**values)


def _series(history: Mapping[str, Any], key: str, n: int | None = None) -> list[float] | None:
    values = history.get(key)
    if values is None:
        return None
    if not isinstance(values, Sequence) or isinstance(values, (str, bytes)):
        raise ValueError(invalid_argument("history", f"a list of numbers under {key!r}", values,
                                          shown=f"history[{key!r}]={values!r}"))
    if all(v is None for v in values):
        return None
    out = [math.nan if v is None else float(v) for v in values]
    if n is not None and len(out) != n:
        raise ValueError(invalid_argument(
            "history", f"{n} values under {key!r} (one per epoch, like 'val_loss')", values,
            shown=f"len(history[{key!r}])={len(out)}"))
    return out


def _finite(x: float) -> bool:
    return math.isfinite(x)


def diagnose(history: Mapping[str, Any], final: Mapping[str, Any] | None = None, *,
             num_classes: int | None = None) -> Diagnosis:
    """Diagnose a run from its validation curve and the final weights' metrics.

    Args:
        history: a mapping with per-epoch lists ``train_loss`` and ``val_loss`` (required) and
            ``train_acc``/``val_acc`` (classification) and optionally ``epoch`` (1-based numbers;
            defaults to 1..n).
        final: the metrics of the final weights in eval mode (``RunResult.final``: ``train_loss,
            train_acc, val_loss, val_acc``), the numbers the report's table shows. Defaults to
            None: the last recorded epoch stands in (a live curve; its training metrics are
            running averages with the regularizers active).
        num_classes: number of classes K, when known; the chance-level loss ``ln K`` is then the
            reference for "training loss is still high". 1 (one regression output, as
            ``DatasetInfo.num_classes`` reports for regression) has no chance level and counts
            as unknown. Defaults to None (use training accuracy).

    Returns:
        A :class:`Diagnosis`; see the module docstring for the rules and thresholds.

    Raises:
        ValueError: no epochs, no validation loss, lists of different lengths, ``num_classes < 1``.
    """
    if not isinstance(history, Mapping):
        raise ValueError(invalid_argument("history", "a mapping like History.to_dict()", history,
                                          shown=f"history of type {type(history).__name__}"))
    if final is not None and not isinstance(final, Mapping):
        raise ValueError(invalid_argument("final", "a mapping like RunResult.final", final,
                                          shown=f"final of type {type(final).__name__}"))
    if num_classes is not None:
        check_int("num_classes", num_classes, low=1)
        if num_classes == 1:
            num_classes = None
    val_loss = _series(history, "val_loss")
    if not val_loss:
        raise ValueError(invalid_argument(
            "history", "per-epoch 'val_loss' values (train with a validation split)",
            history.get("val_loss"), shown=f"history['val_loss']={history.get('val_loss')!r}"))
    n = len(val_loss)
    train_loss = _series(history, "train_loss", n)
    if train_loss is None:
        raise ValueError(invalid_argument(
            "history", "per-epoch 'train_loss' values", history.get("train_loss"),
            shown=f"history['train_loss']={history.get('train_loss')!r}"))
    train_acc = _series(history, "train_acc", n)
    val_acc = _series(history, "val_acc", n)
    epochs = history.get("epoch")
    if epochs is None:
        epochs = list(range(1, n + 1))
    epochs = [int(e) for e in epochs]
    if len(epochs) != n:
        raise ValueError(invalid_argument(
            "history", f"{n} values under 'epoch' (one per epoch, like 'val_loss')", epochs,
            shown=f"len(history['epoch'])={len(epochs)}"))

    last = n - 1
    if final is None:  # a live curve: its last epoch stands in for the final weights
        final = {"train_loss": train_loss[last], "val_loss": val_loss[last],
                 "train_acc": None if train_acc is None else train_acc[last],
                 "val_acc": None if val_acc is None else val_acc[last]}
    gap = Q.gap(final)
    kind = Q.gap_kind(final)
    classification = kind == "accuracy"
    tl = final.get("train_loss")
    tl = train_loss[last] if tl is None else float(tl)
    tr_acc = Q._num(final, "train_acc")
    va_acc = Q._num(final, "val_acc")
    chance = math.log(num_classes) if num_classes is not None else None

    last_epoch = epochs[last]
    diverged_at = None
    if not (_finite(train_loss[last]) and _finite(val_loss[last])):
        for i in range(n):
            if not (_finite(train_loss[i]) and _finite(val_loss[i])):
                diverged_at = epochs[i]
                break
    best_epoch = Q.best_epoch({"epoch": epochs, "val_loss": val_loss})
    best = epochs.index(best_epoch) if best_epoch is not None else last
    best_epoch = epochs[best]
    min_vl = val_loss[best]
    if classification:
        curve_end = final
    else:  # regression: the curves are losses on standardised targets, ``final`` is on the
        # original scale, so the rise is read on the curve, at the epoch whose weights were kept
        kept = history.get("best_epoch")
        curve_end = {"val_loss": val_loss[epochs.index(kept)] if kept in epochs else val_loss[last]}
    end_vl = val_loss[last] if curve_end.get("val_loss") is None else float(curve_end["val_loss"])
    rise = Q.val_loss_rise({"val_loss": val_loss}, curve_end)
    peak_acc_epoch = Q.peak_val_acc_epoch({"epoch": epochs, "val_acc": val_acc or []})

    common = dict(
        best_epoch=best_epoch, last_epoch=last_epoch, min_val_loss=min_vl, final_val_loss=end_vl,
        val_loss_rise=rise, gap=gap, gap_kind=kind, train_loss_end=tl, train_acc_end=tr_acc,
        val_acc_end=va_acc,
        val_acc_best=None if val_acc is None or not _finite(val_acc[best]) else val_acc[best],
        chance_loss=chance, peak_val_acc_epoch=peak_acc_epoch,
    )
    gap_text = (f"train-val accuracy gap {Q.format_gap(gap, kind)}" if classification
                else f"val-train loss gap {Q.format_gap(gap, kind)}")

    if diverged_at is not None:
        sentence = (f"Underfitting: training diverged (non-finite loss from epoch {diverged_at}); "
                    "lower the learning rate or clip gradients.")
        return Diagnosis(verdict="underfitting", rule="diverged", sentence=sentence, **common)
    if chance is not None and train_loss[last] > EXPLODED_LOSS_FACTOR * chance:
        sentence = (f"Underfitting: training diverged (training loss {train_loss[last]:.3g} in epoch {last_epoch}, "
                    f"more than {EXPLODED_LOSS_FACTOR:g} times the chance level ln {num_classes} = {chance:.3f}); "
                    "lower the learning rate or clip gradients.")
        return Diagnosis(verdict="underfitting", rule="diverged", sentence=sentence, **common)

    if rise > OVERFIT_VAL_RISE and (gap >= OVERFIT_MIN_GAP if classification else gap > 0):
        stop = best_epoch
        peak = ""
        if peak_acc_epoch is not None and peak_acc_epoch != best_epoch:
            # Validation accuracy often keeps improving after the loss minimum (the loss also
            # punishes confident mistakes): advise stopping at the accuracy peak.
            stop = peak_acc_epoch
            peak = (f"; validation accuracy peaked at {val_acc[epochs.index(stop)]:.3f} in epoch "
                    f"{stop}")
        sentence = (
            f"Overfitting: validation loss bottomed at {min_vl:.3f} in epoch {best_epoch} and rose "
            f"{rise:.0%} by epoch {last_epoch} ({end_vl:.3f}), with a {gap_text} for the final weights{peak}; "
            f"stop near epoch {stop} or regularize more."
        )
        return Diagnosis(verdict="overfitting", rule="val_loss_rise", sentence=sentence, **common)
    if not classification and _finite(gap) and gap >= abs(tl):
        sentence = (
            f"Overfitting: the final weights' validation loss {float(final['val_loss']):.4g} is {gap:.4g} above their "
            f"training loss {tl:.4g} (a val-train loss gap at least the training loss itself; "
            f"validation loss stayed within {OVERFIT_VAL_RISE:.0%} of its minimum); regularize more."
        )
        return Diagnosis(verdict="overfitting", rule="large_gap", sentence=sentence, **common)
    if classification and gap >= OVERFIT_LARGE_GAP:
        sentence = (
            f"Overfitting: the final weights reach {tr_acc:.1%} training accuracy but "
            f"{va_acc:.1%} validation accuracy ({gap_text}, at least "
            f"{100 * OVERFIT_LARGE_GAP:.0f} pts); validation loss stayed within "
            f"{OVERFIT_VAL_RISE:.0%} of its minimum {min_vl:.3f} (epoch {best_epoch}); "
            "regularize more."
        )
        return Diagnosis(verdict="overfitting", rule="large_gap", sentence=sentence, **common)

    # Classification: |gap| below UNDERFIT_MAX_GAP. Regression: the loss gap is below the
    # training loss itself (validation loss less than twice the training loss).
    if classification:
        small_gap = abs(gap) < UNDERFIT_MAX_GAP
    else:
        small_gap = gap < abs(tl)
    advice = "reduce regularization, train longer or use a larger model."
    if small_gap:
        if chance is not None and tl >= UNDERFIT_LOSS_FRACTION * chance:
            acc_part = f" and training accuracy {tr_acc:.1%}" if classification else ""
            sentence = (
                f"Underfitting: the final weights' training loss is {tl:.3f} ({tl / chance:.0%} of "
                f"the chance level ln {num_classes} = {chance:.3f}){acc_part} with a {gap_text} "
                f"after epoch {last_epoch}; {advice}"
            )
            return Diagnosis(verdict="underfitting", rule="high_train_loss", sentence=sentence,
                             **common)
        if chance is None and classification and tr_acc < UNDERFIT_TRAIN_ACC:
            sentence = (
                f"Underfitting: the final weights' training accuracy is {tr_acc:.1%} (below "
                f"{UNDERFIT_TRAIN_ACC:.0%}) with a {gap_text} after epoch {last_epoch}; {advice}"
            )
            return Diagnosis(verdict="underfitting", rule="low_train_acc", sentence=sentence,
                             **common)
        if not classification and _finite(train_loss[0]) and train_loss[0] > 0:
            # on the curve (standardised targets), at the epoch whose weights were kept
            kept = history.get("best_epoch")
            curve_tl = train_loss[epochs.index(kept)] if kept in epochs else train_loss[last]
            improvement = 1.0 - curve_tl / train_loss[0]
            if improvement < UNDERFIT_MIN_IMPROVEMENT:
                sentence = (
                    f"Underfitting: training loss fell only {improvement:.0%} (from "
                    f"{train_loss[0]:.3f} to {curve_tl:.3f}) by epoch {last_epoch} "
                    f"with a {gap_text}; "
                    f"{advice}"
                )
                return Diagnosis(verdict="underfitting", rule="slow_train_loss",
                                 sentence=sentence, **common)

    sentence = (
        f"Good fit: validation loss reached its minimum {min_vl:.3f} in epoch {best_epoch} and "
        f"ended at {end_vl:.3f} ({rise:+.0%}) in epoch {last_epoch}, with a {gap_text} for the "
        "final weights."
    )
    if rise > OVERFIT_VAL_RISE:
        sentence = sentence[:-1] + (
            f"; the loss rise with a gap under {100 * OVERFIT_MIN_GAP:.0f} pts is overconfidence "
            "that costs no accuracy (label smoothing or early stopping on the loss address it).")
    return Diagnosis(verdict="good fit", rule="none", sentence=sentence, **common)
