"""Small tabular data, and signals or other inputs without a dedicated recipe.

Tabular (Kadra et al. 2021; Gorishniy et al. 2021; Grinsztajn et al. 2022): decoupled weight decay
0.01 (inside Kadra et al.'s search range 1e-5 to 0.1), early stopping with patience 16 (Gorishniy
et al.), dropout 0.2 (their MLP's range is 0 to 0.5), then a smaller model; gradient-boosted trees
as the baseline to beat.

Signals and other inputs (MNIST-1D and the like): weight decay 0.01, early stopping (20 epochs on
validation accuracy), then dropout (0.2 for MLPs, 0.1 for convolutions and transformers) and
Gaussian input noise 0.1 on standardised inputs (Bishop 1995); label smoothing 0.1 for
transformers.
"""

from __future__ import annotations

from reglab.analysis.recommend.problem import LIKELY_OVERFIT_RATIO, Plan, Problem, advice_step, technique_step

__all__ = ["tabular_plan", "signal_plan", "TABULAR_PATIENCE", "DROPOUT_START"]

TABULAR_PATIENCE = 16
#: Dropout starting rate per family on signals (Srivastava et al. 2014: 0.5 for wide layers;
#: small nets, convolutions and attention start lower).
DROPOUT_START = {"mlp": 0.2, "cnn": 0.1, "transformer": 0.1, "rnn": 0.2}

_LABEL = {"mlp": "MLP", "cnn": "CNN", "transformer": "transformer", "rnn": "RNN"}
_TREES = ("Compare against gradient-boosted trees (XGBoost, LightGBM, CatBoost) on the same "
          "split: on small and medium tabular sets they usually match or beat a tuned MLP "
          "(Grinsztajn et al. 2022).")


def tabular_plan(p: Problem) -> Plan:
    """The plan for tabular data (``p.modality == "tabular"``)."""
    steps = [
        technique_step(
            "weight_decay", 0.01,
            "Decoupled weight decay 0.01 (AdamW), inside the range tuned for tabular MLPs; the "
            "first member of every regularization cocktail.", "kadra2021", "loshchilov2019"),
        technique_step(
            "early_stopping", TABULAR_PATIENCE,
            f"Stop when the validation accuracy has not improved for {TABULAR_PATIENCE} epochs "
            "and keep the best weights (Gorishniy et al.'s patience).", "gorishniy2021", "prechelt1998"),
        technique_step(
            "dropout", 0.2,
            "If the gap persists: dropout 0.2 on the hidden layers (tabular MLPs tune it in "
            "0-0.5).", "gorishniy2021", "srivastava2014", core=False),
    ]
    if p.ratio > LIKELY_OVERFIT_RATIO:
        steps.append(advice_step(
            "smaller model", {"width_factor": 0.5},
            f"With {p.size_text()}, halve the width (or remove a layer) and compare on "
            "validation: tabular MLPs are tuned per dataset between 1 and 8 layers.",
            "gorishniy2021", core=False))
    return Plan("small tabular data" if p.small else "tabular data",
                "weight decay and early stopping first, then dropout and a smaller model.",
                steps, notes=[_TREES])


def signal_plan(p: Problem) -> Plan:
    """The plan for signals and inputs without a dedicated recipe."""
    rate = DROPOUT_START[p.family]
    steps = [
        technique_step("weight_decay", 0.01, "Decoupled weight decay 0.01 (AdamW's usual value); "
                       "biases and normalization weights not decayed.", "loshchilov2019"),
        technique_step(
            "early_stopping", 20,
            "Stop when the validation accuracy has not improved for 20 epochs and keep the best "
            "weights.", "prechelt1998"),
    ]
    if p.family == "transformer":
        steps.append(technique_step("label_smoothing", 0.1, "Label smoothing 0.1, the original "
                                    "Transformer's value.", "vaswani2017", "szegedy2016"))
    steps += [
        technique_step("dropout", rate, f"If the gap persists: dropout {rate:g} on the hidden "
                       "layers.", "srivastava2014", core=False),
        technique_step("input_noise", 0.1, "Gaussian noise with std 0.1 on the standardised "
                       "inputs: plausible new examples the model cannot memorise.", "bishop1995",
                       core=False),
    ]
    return Plan(f"{_LABEL[p.family]} on signals", "weight decay and early stopping first, then dropout and "
                "input noise while the gap persists.", steps)
