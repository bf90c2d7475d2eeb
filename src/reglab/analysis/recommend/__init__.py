"""Recommend an ordered regularization strategy from published recipes.

``recommend()`` reads the facts of a problem (family, modality, sizes, observed accuracies,
pretrained or not), picks the scenario's rule (``rules_image``, ``rules_text``, ``rules_rnn``,
``rules_tabular``, ``rules_underfit``: each lists the recipe's numbers and sources), adapts it to
the run's current regularization and to what a run store measured (``evidence``), and returns
:class:`Recommendation` with ordered :class:`Step` records, each citing its source
(``sources.SOURCES``). Technique names, spec fields and valid ranges come from
``reglab.techniques``; ``study_config`` / ``study_toml`` write the study that tests the strategy on
the user's own model and data.
"""

from reglab.analysis.recommend.core import (
    DROPOUT_MAX,
    NO_FLIP_DATASETS,
    RAISE_FACTOR,
    modality_of_dataset,
    modality_of_shape,
    recommend,
)
from reglab.analysis.recommend.emit import left_out, reference_model, study_config, study_toml
from reglab.analysis.recommend.problem import (
    FAMILIES,
    FAR_TOO_LARGE_RATIO,
    LIKELY_OVERFIT_RATIO,
    MODALITIES,
    MODEL_FAMILY,
    OBSERVED_MILD_GAP,
    OBSERVED_OVERFIT_GAP,
    OBSERVED_UNDERFIT_SKILL,
    SMALL_DATA,
    TASKS,
    TRANSFER_DATA,
    Problem,
    Recommendation,
    Step,
    family_of_model,
    observed_verdict,
)
from reglab.analysis.recommend.sources import SOURCES

__all__ = [
    "FAMILIES", "MODALITIES", "TASKS", "MODEL_FAMILY", "SMALL_DATA", "TRANSFER_DATA",
    "FAR_TOO_LARGE_RATIO", "LIKELY_OVERFIT_RATIO", "OBSERVED_OVERFIT_GAP", "OBSERVED_MILD_GAP",
    "OBSERVED_UNDERFIT_SKILL", "RAISE_FACTOR", "DROPOUT_MAX", "NO_FLIP_DATASETS", "SOURCES",
    "Problem", "Step", "Recommendation", "recommend", "family_of_model", "observed_verdict",
    "modality_of_dataset", "modality_of_shape", "study_config", "study_toml", "reference_model", "left_out",
]
