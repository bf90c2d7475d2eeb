"""Text with a transformer: fine-tuning a pretrained model (BERT-style), or training from scratch.

Fine-tuning (Devlin et al. 2019; the Hugging Face recipes; RoBERTa; Dodge et al. 2020):

1. Learning rate 2e-5 (Devlin et al. searched {5e-5, 4e-5, 3e-5, 2e-5}; start at the low end on
   small sets, where the larger rates fail more often, Mosbach et al. 2021).
2. Decoupled weight decay 0.01 (BERT's AdamW; the Hugging Face examples).
3. Linear warmup over the first 10% of the steps (BERT's fine-tuning code, warmup proportion
   0.1; RoBERTa used 6%), then linear decay.
4. 3 epochs (Devlin et al.: 2, 3 or 4).
5. Early stopping counted in evaluations, not epochs: with 2-4 epochs an epoch-level patience
   never triggers. Evaluate 4 times per epoch (batch 32) and stop after 3 evaluations without
   improvement (Hugging Face ``EarlyStoppingCallback``; Dodge et al. 2020 stop bad runs early).

Not recommended: more dropout (BERT already applies 0.1 on every layer and attention map), mixup
of token ids (only mixup of embeddings exists for text, Guo et al. 2019, as an experiment).

From scratch on little text: pretrained weights first (Devlin et al. 2019; Howard & Ruder 2018),
then the original Transformer's dropout 0.1 and label smoothing 0.1 (Vaswani et al. 2017), weight
decay 0.01 and early stopping.
"""

from __future__ import annotations

import math

from reglab.analysis.recommend.problem import TRANSFER_DATA, Plan, Problem, advice_step, technique_step

__all__ = ["text_plan", "FINE_TUNING_LR", "FINE_TUNING_LR_RANGE", "WARMUP_RATIO", "FINE_TUNING_EPOCHS",
           "BATCH_SIZE", "EVALS_PER_EPOCH", "EVAL_PATIENCE", "AVOID_DROPOUT", "AVOID_MIXUP"]

FINE_TUNING_LR = 2e-5
FINE_TUNING_LR_RANGE = (2e-5, 5e-5)
WARMUP_RATIO = 0.1
FINE_TUNING_EPOCHS = 3
#: BERT's fine-tuning batch size (16 or 32); sets the number of steps per epoch.
BATCH_SIZE = 32
EVALS_PER_EPOCH = 4
EVAL_PATIENCE = 3

AVOID_DROPOUT = ("extra dropout: BERT-style models already apply dropout 0.1 to every layer and "
                 "attention map (Devlin et al. 2019); adding more on top only slows fine-tuning.")
AVOID_MIXUP = ("mixup of inputs: token ids cannot be mixed; mixup of word or sentence embeddings "
               "(Guo et al. 2019) is an experiment to try last, not a default.")


def text_plan(p: Problem) -> Plan:
    """The plan for text with a transformer (``p.modality == "text"``)."""
    return _fine_tuning(p) if p.fine_tuning else _from_scratch(p)


def _fine_tuning(p: Problem) -> Plan:
    steps_per_epoch = math.ceil(p.n_train / BATCH_SIZE)
    eval_steps = max(1, steps_per_epoch // EVALS_PER_EPOCH)
    steps = [
        advice_step(
            "fine-tuning learning rate", {"lr": FINE_TUNING_LR},
            "AdamW at 2e-5, the low end of BERT's fine-tuning range (2e-5 to 5e-5); choose among "
            "2e-5, 3e-5 and 5e-5 on validation. Larger rates fail more often (training collapses "
            "to predicting one class), most of all on small sets.", "devlin2019", "mosbach2021"),
        technique_step(
            "weight_decay", 0.01,
            "Decoupled weight decay 0.01, BERT's and the Hugging Face examples' value; biases "
            "and LayerNorm weights not decayed.", "devlin2019", "hf", "loshchilov2019"),
        advice_step(
            "learning-rate warmup", {"warmup_ratio": WARMUP_RATIO},
            f"Warm the learning rate up linearly over the first {100 * WARMUP_RATIO:g}% of the "
            "steps (6% in RoBERTa), then decay it linearly to zero: without warmup the first "
            "updates of a new head disturb the pretrained weights.", "devlin2019", "liu2019", "hf"),
        advice_step(
            "few epochs", {"epochs": FINE_TUNING_EPOCHS},
            f"{FINE_TUNING_EPOCHS} epochs (BERT: 2 to 4). If seeds disagree widely on "
            f"{p.n_train:,} examples, train longer at the small rate rather than raising it "
            "(Mosbach et al. 2021 found more steps stabilise small sets).", "devlin2019",
            "mosbach2021"),
        advice_step(
            "early stopping on evaluations", {"eval_steps": eval_steps, "patience": EVAL_PATIENCE},
            f"Evaluate every {eval_steps} steps ({EVALS_PER_EPOCH} times per epoch at batch "
            f"{BATCH_SIZE}: {steps_per_epoch} steps per epoch) and stop after {EVAL_PATIENCE} "
            "evaluations without a better validation score, keeping the best checkpoint; a "
            "patience in epochs never triggers in a 3-epoch run.", "hf", "dodge2020"),
        advice_step(
            "discriminative fine-tuning", {},
            "If the gap persists: lower learning rates for lower layers, or freeze the embeddings "
            "and the lowest layers.", "howard2018", core=False),
    ]
    notes = []
    if p.small:
        notes.append(f"On {p.n_train:,} examples fine-tuning is unstable across seeds: run 3-5 "
                     "seeds (restarts) and keep the best on validation (Devlin et al. 2019 did so "
                     "for small GLUE sets; Dodge et al. 2020; Mosbach et al. 2021).")
    return Plan("fine-tuning a pretrained text transformer (BERT-style)",
                "learning rate 2e-5 to 5e-5, weight decay 0.01, warmup 10%, 3 epochs and early "
                "stopping on evaluations; no extra dropout.",
                steps, [AVOID_DROPOUT, AVOID_MIXUP], notes)


def _from_scratch(p: Problem) -> Plan:
    steps = []
    transfer = p.n_train < TRANSFER_DATA
    if transfer:
        steps.append(advice_step(
            "pretrained weights", {},
            f"With {p.n_train:,} examples, fine-tune a pretrained language model (BERT, RoBERTa "
            "...) instead of training from scratch; then follow the fine-tuning settings "
            "(--fine-tuning).", "devlin2019", "howard2018"))
    steps += [
        technique_step(
            "dropout", 0.1,
            "Dropout 0.1 on the attention and feed-forward outputs, the original Transformer's "
            "value.", "vaswani2017", "srivastava2014"),
        technique_step(
            "label_smoothing", 0.1, "Label smoothing 0.1, the original Transformer's value.",
            "vaswani2017", "szegedy2016"),
        technique_step(
            "weight_decay", 0.01, "Decoupled weight decay 0.01 (AdamW).", "loshchilov2019", "devlin2019"),
        technique_step(
            "early_stopping", 20,
            "Stop when the validation accuracy has not improved for 20 epochs and keep the best "
            "weights.", "prechelt1998"),
    ]
    return Plan("text transformer from scratch" + (" on little data" if transfer else ""),
                ("start from a pretrained model; " if transfer else "")
                + "dropout 0.1 and label smoothing 0.1 as in the original Transformer, weight "
                "decay 0.01 and early stopping.", steps, [AVOID_MIXUP])
