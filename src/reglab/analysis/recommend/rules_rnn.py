"""Recurrent networks (LSTM/GRU) on text: the AWD-LSTM recipe (Merity et al. 2018).

Values of AWD-LSTM on Penn Treebank, in the order the recipe introduces them:

1. Weight drop 0.5: DropConnect on the hidden-to-hidden matrices, one mask per forward pass
   (``reglab.nn.DropConnect`` implements the mask).
2. Locked (variational) dropout, one mask per sequence (Gal & Ghahramani 2016): 0.3 between LSTM
   layers, 0.4 on the word vectors and the last layer's output. reglab's ``lstm`` applies its
   ``dropout`` as locked dropout between layers, so the arm is ``dropout=0.3``.
3. Embedding dropout 0.1: whole words dropped from the embedding matrix.
4. Gradient-norm clipping at 0.25 (Pascanu et al. 2013 introduced norm clipping).
5. Optional: NT-ASGD (SGD that switches to averaged SGD when validation stops improving),
   activation regularization (AR 2, TAR 1), weight decay 1.2e-6.

Text classification with an LSTM on little data: a pretrained language model first (ULMFiT,
Howard & Ruder 2018, fine-tunes an AWD-LSTM with these dropouts), then the same steps and early
stopping. On signals and other sequences: locked dropout 0.2, clipping at 1.0, weight decay 0.01,
early stopping.
"""

from __future__ import annotations

from reglab.analysis.recommend.problem import Plan, Problem, advice_step, technique_step

__all__ = ["rnn_plan", "WEIGHT_DROP", "LOCKED_DROPOUT", "EMBEDDING_DROPOUT", "CLIP"]

WEIGHT_DROP = 0.5
LOCKED_DROPOUT = 0.3
EMBEDDING_DROPOUT = 0.1
CLIP = 0.25


def rnn_plan(p: Problem) -> Plan:
    """The plan for a recurrent network (``p.family == "rnn"``)."""
    if p.modality != "text" and p.task != "language_model":
        return _sequence(p)
    lm = p.task == "language_model"
    steps = []
    if not lm and not p.fine_tuning and p.small:
        steps.append(advice_step(
            "pretrained language model", {},
            f"With {p.n_train:,} labelled texts, fine-tune a language model pretrained on "
            "unlabelled text (ULMFiT: an AWD-LSTM, gradual unfreezing, discriminative learning "
            "rates) rather than training the LSTM from scratch.", "howard2018"))
    steps += [
        advice_step(
            "weight drop", {"weight_drop": WEIGHT_DROP},
            f"DropConnect with p = {WEIGHT_DROP:g} on the hidden-to-hidden weight matrices, one "
            "mask per forward pass: regularizes the recurrence without touching the fast cuDNN "
            "kernel (reglab.nn.DropConnect draws such masks).", "merity2018"),
        technique_step(
            "dropout", LOCKED_DROPOUT,
            f"Locked (variational) dropout, one mask per sequence: {LOCKED_DROPOUT:g} between "
            "LSTM layers, 0.4 on the word vectors and on the last layer's output; reglab's lstm "
            "applies `dropout` as locked dropout between layers.", "merity2018", "gal2016"),
        advice_step(
            "embedding dropout", {"embedding_dropout": EMBEDDING_DROPOUT},
            f"Drop whole words from the embedding matrix with p = {EMBEDDING_DROPOUT:g} (the "
            "remaining rows rescaled).", "merity2018", "gal2016"),
        technique_step(
            "grad_clip", CLIP,
            f"Clip the gradient norm at {CLIP:g}: LSTMs have exploding gradients, and AWD-LSTM "
            "clips at this value.", "merity2018", "pascanu2013"),
        advice_step(
            "NT-ASGD", {"optimizer": "NT-ASGD"},
            "Optional: SGD that switches to averaged SGD once validation perplexity stops "
            "improving for 5 evaluations; with activation regularization (AR 2, TAR 1) and weight "
            "decay 1.2e-6, the rest of AWD-LSTM's recipe.", "merity2018", core=False),
    ]
    if not lm:
        steps.append(technique_step(
            "early_stopping", 20,
            "Stop when the validation accuracy has not improved for 20 epochs and keep the best "
            "weights.", "prechelt1998"))
    scenario = "LSTM language model" if lm else "LSTM text classifier"
    return Plan(scenario, "the AWD-LSTM recipe: weight drop 0.5, locked dropout, embedding dropout "
                          "0.1 and gradient clipping 0.25; NT-ASGD optional.", steps)


def _sequence(p: Problem) -> Plan:
    steps = [
        technique_step(
            "weight_decay", 0.01, "Decoupled weight decay 0.01 (AdamW's usual value).",
            "loshchilov2019"),
        technique_step(
            "early_stopping", 20,
            "Stop when the validation accuracy has not improved for 20 epochs and keep the best "
            "weights.", "prechelt1998"),
        technique_step(
            "grad_clip", 1.0, "Clip the gradient norm at 1: recurrent nets have exploding gradients.",
            "pascanu2013"),
        technique_step(
            "dropout", 0.2,
            "If the gap persists: locked dropout 0.2 between recurrent layers (one mask per "
            "sequence, not on the recurrent connections).", "gal2016", "srivastava2014", core=False),
    ]
    return Plan("recurrent network on sequences", "weight decay, early stopping and gradient "
                "clipping; locked dropout while the gap persists.", steps)
