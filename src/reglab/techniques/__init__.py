"""One definition per regularization technique, and everything that reads it.

A :class:`Technique` holds a technique's name and aliases, its run-spec field, starting value and
valid range, paper, what it acts on (model / batch / optimizer / loss / loop), whether the
vectorized engine trains it, how a study arm writes it (``edit``) and how a run applies it
(``apply``). Study arms (:func:`parse_arm`, :func:`expand_arms`, :func:`apply_arm`, :func:`apply_arm_spec`), sweep fields,
``reglab techniques``, the report's settings text, the recommender and the vectorized runner read
:data:`TECHNIQUES`; adding a technique is one :func:`register_technique` call.
"""

from reglab.techniques.arms import (
    ALL_ARMS,
    DEFAULT_ARMS,
    RESIDUAL_MODELS,
    apply_arm,
    apply_arm_spec,
    expand_arms,
    has_augmentation,
    parse_arm,
    parse_number,
    study_arms,
)
from reglab.techniques.catalog import augmentation_transform
from reglab.techniques.registry import (
    TECHNIQUES,
    field_value,
    get_technique,
    log_scale_fields,
    register_technique,
    spec_fields,
    sweep_fields,
    technique_for_field,
    tunable,
    unregister_technique,
    vectorized_problem,
    write_arm,
)
from reglab.techniques.technique import STAGES, Range, SearchRange, Technique, TrainContext

__all__ = [
    "ALL_ARMS", "DEFAULT_ARMS", "RESIDUAL_MODELS", "STAGES", "TECHNIQUES", "Range", "SearchRange", "Technique", "TrainContext",
    "apply_arm", "apply_arm_spec", "augmentation_transform", "expand_arms", "has_augmentation", "field_value", "get_technique", "log_scale_fields", "parse_arm", "parse_number",
    "register_technique", "spec_fields", "study_arms", "sweep_fields", "technique_for_field", "tunable", "unregister_technique",
    "vectorized_problem", "write_arm",
]
