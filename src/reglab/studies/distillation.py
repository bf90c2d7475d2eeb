"""The teacher-student study (``reglab distill``): an ordinary study whose arms are distillation arms.

Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network", arXiv:1503.02531: a
small "student" trained on a large "teacher"'s temperature-softened probabilities (plus the hard
labels) beats the same student trained on the labels alone (MNIST: 146 test errors alone, 74
distilled, teacher 67). :func:`distillation_config` builds a :class:`StudyConfig` whose model is
the student and whose ``[distillation]`` table holds the teacher, and :func:`run_distillation`
runs it with ``run_study``: the store, the summary, the effects vs ``baseline`` (the student
from scratch; a distilled student of seed ``s`` starts from its initial weights and batch order)
and the report are the ordinary ones. Its arms, for each seed ``s``:

==========================  ======================================================================
``baseline``                the student model from scratch (hard labels)
``teacher``                 the teacher model alone, trained plainly (no regularization) with
                            seed ``s``: a plain run of the teacher spec
``distillation``            the student trained with ``DistillationLoss(temperature, alpha)`` on a
                            teacher (seed ``1000 s``, ``reglab.experiments.execute``)
``ensemble_distillation``   the student distilled from ``ensemble`` teachers' averaged softened
                            probabilities (seeds ``1000 s + i``), when ``ensemble >= 2``
``born_again``              a student of the teacher's architecture distilled from a teacher of
                            that architecture ("born-again" networks, Furlanello et al. 2018, ICML,
                            arXiv:1805.04770), when ``self_distillation``; it starts from the
                            ``teacher`` arm's initial weights (same model, same seed)
==========================  ======================================================================

Teachers are trained once per process for each (data, seed, teacher spec) and reused by every
distilled arm of that seed (``execute``'s cache): the default of one worker trains each once.

Defaults: MNIST-1D, student MLP 2 x 32, teacher MLP 2 x 512 with dropout 0.3, AdamW lr 1e-2, batch
100, 60 epochs, T = 4 and alpha = 0.9, an ensemble of 3 teachers, the born-again arm, 3 seeds. The
teacher is regularized with dropout, as Hinton et al.'s was: an unregularized teacher memorises the
training set (train 98%), so on the very inputs the student learns from its softened outputs are
nearly one-hot and carry little beyond the labels. Measured on MNIST-1D (``benchmarks/
distillation.py``, 60 epochs, T = 4, alpha = 0.9, student 2 x 32): unregularized teacher 65.3%,
distilled student +0.2 points [95% CI -2.4, +2.8] over the student alone (3 seeds); dropout-0.3
teacher 67.3%, distilled student +5.1 [+1.1, +9.0] (5 seeds). This study's defaults, 3 seeds
(``benchmarks/distillation.py``, 384 s on a loaded 2-core machine): student 55.0%, teacher 66.1%,
distilled +2.5 points (paired per seed: [-2.5, +7.6]), ensemble-distilled +2.6 [-0.7, +5.9],
born-again 66.4% (+0.3 [-2.2, +2.8] over the teacher arm it starts from).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reglab.errors import ConfigError, invalid_argument
from reglab.experiments.config import StudyConfig, config_error, load_config
from reglab.experiments.spec import DistillationSpec

__all__ = ["DISTILLATION_DEFAULTS", "distillation_arms", "distillation_config", "run_distillation"]

#: ``reglab distill``'s defaults, under a ``--config`` file (``load_config(base=...)``).
DISTILLATION_DEFAULTS: dict[str, Any] = {
    "name": "distillation",
    "epochs": 60,
    "workers": 1,  # one process: each seed's teachers are trained once and reused
    "model": {"name": "mlp", "options": {"width": 32}},
    "distillation": DistillationSpec().model_dump(mode="json"),
}


def distillation_arms(temperature: float = 4.0, ensemble: int = 3, self_distillation: bool = True) -> list[str]:
    """The arms of a distillation study: ``baseline`` (the student), ``teacher``, ``distillation``,
    ``ensemble_distillation`` (``ensemble`` teachers, when >= 2) and ``born_again`` (when
    ``self_distillation``); the temperature is written into the arm only when it is not the
    arm's default 4 (the arm names stay short).

    Raises:
        ConfigError: ``ensemble`` is 1 or negative.
    """
    if isinstance(ensemble, bool) or not isinstance(ensemble, int) or ensemble < 0 or ensemble == 1:
        raise ConfigError(invalid_argument("ensemble", "0 (no ensemble arm) or an integer >= 2", ensemble))
    t = "" if float(temperature) == 4.0 else f"={temperature:g}"
    arms = ["baseline", "teacher", f"distillation{t}"]
    if ensemble >= 2:
        arms.append("ensemble_distillation" + ("" if ensemble == 3 else f"={ensemble}"))
    if self_distillation:
        arms.append(f"born_again{t}")
    return arms


def distillation_config(
    path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    sets: Iterable[str] = (),
    *,
    teacher: Mapping[str, Any] | None = None,
    temperature: float | None = None,
    alpha: float | None = None,
    teacher_epochs: int | None = None,
    ensemble: int | None = None,
    self_distillation: bool | None = None,
) -> StudyConfig:
    """The distillation study's :class:`StudyConfig`: :data:`DISTILLATION_DEFAULTS` < the study TOML
    ``path`` < ``overrides`` (study fields, as ``load_config`` takes them: ``lr``, ``optimizer``,
    ``epochs``, ``model.options.width`` for the student...) < ``sets`` < the keyword options.

    Args:
        teacher: the teacher model, or only its options (``{"options": {"width": 64}}``: merged
            into the config's teacher).
        temperature / alpha / teacher_epochs: the ``[distillation]`` table's values.
        ensemble / self_distillation: rebuild the arms with :func:`distillation_arms` (as does a
            ``temperature``); otherwise the file's ``arms``, or the default arms.

    Raises:
        ConfigError: a bad value, naming the field.
    """
    base: dict[str, Any] = {**DISTILLATION_DEFAULTS, "arms": distillation_arms()}
    legacy = _legacy_file(path) if path is not None else None
    if legacy is not None:  # a file of the former distillation config: read as the study it means
        base, path = {**base, **legacy.pop("study")}, None
        teacher = teacher or legacy.get("teacher")
        temperature = legacy.get("temperature") if temperature is None else temperature
        alpha = legacy.get("alpha") if alpha is None else alpha
        teacher_epochs = legacy.get("teacher_epochs") if teacher_epochs is None else teacher_epochs
        ensemble = legacy.get("ensemble") if ensemble is None else ensemble
        self_distillation = legacy.get("self_distillation") if self_distillation is None else self_distillation
    cfg = load_config("study", path=path, overrides=overrides, sets=sets, base=base)
    data = cfg.model_dump(mode="json")
    dist = dict(data.get("distillation") or DISTILLATION_DEFAULTS["distillation"])
    if teacher:
        current = dict(dist.get("teacher") or {})
        if "name" in teacher:
            current = dict(teacher)
        else:
            current["options"] = {**(current.get("options") or {}), **dict(teacher.get("options") or {})}
        dist["teacher"] = current
    for key, value in (("temperature", temperature), ("alpha", alpha), ("teacher_epochs", teacher_epochs)):
        if value is not None:
            dist[key] = value
    data["distillation"] = dist
    if temperature is not None or ensemble is not None or self_distillation is not None:
        data["arms"] = distillation_arms(dist.get("temperature", 4.0), 3 if ensemble is None else ensemble,
                                         True if self_distillation is None else self_distillation)
    try:
        return StudyConfig.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, StudyConfig) from None


#: Top-level keys of the former distillation config (``reglab distill --config`` before it was a study).
_LEGACY_KEYS = ("student", "teacher", "temperature", "alpha", "teacher_epochs", "ensemble", "self_distillation")


def _legacy_file(path: str | Path) -> dict[str, Any] | None:
    """A TOML file in the former distillation config's format (``kind = "distillation"`` or a
    top-level ``student``/``teacher``/``temperature``/... key), split into ``{"study": study
    fields, <distillation option>: value}``; None for a study file."""
    from reglab.experiments.config import read_toml

    data = dict(read_toml(path))
    if data.get("kind") != "distillation" and not any(k in data for k in _LEGACY_KEYS):
        return None
    data.pop("kind", None)
    options = {k: data.pop(k) for k in _LEGACY_KEYS if k in data}
    if "student" in options:
        data["model"] = options.pop("student")
    return {"study": data, **options}


def run_distillation(config: StudyConfig | None = None, **kwargs: Any) -> Any:
    """Run a distillation study (:func:`distillation_config`; None: the default one) with
    ``reglab.studies.run_study`` (same keyword arguments) and return its ``StudySummary``: the
    store ``<out>/runs.sqlite``, the report (terminal table, ``report.md``, ``report.html``) with
    the effect of every arm vs ``baseline``, the student from scratch."""
    from reglab.studies.study import run_study

    return run_study(config if config is not None else distillation_config(), **kwargs)
