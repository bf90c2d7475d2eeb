"""The study that tests a recommendation on the user's own model and data (``reglab recommend
--emit-config``): ``baseline`` plus one arm per technique step at exactly its recommended value,
the recommended learning rate and epochs as the shared settings, and the advice a study cannot
express as comments at the top of the TOML file."""

from __future__ import annotations

import json
from typing import Any

from reglab._validate import check_int
from reglab.analysis.recommend.problem import Recommendation
from reglab.errors import invalid_argument
from reglab.techniques import RESIDUAL_MODELS, parse_arm

__all__ = ["study_config", "study_toml", "reference_model", "left_out"]


def reference_model(rec: Recommendation) -> str:
    """reglab's reference model for the recommendation's family (and modality)."""
    p = rec.problem
    if p.family == "cnn":
        return "resnet" if p.residual and p.modality == "image" else ("cnn2d" if p.modality == "image" else "cnn1d")
    return {"mlp": "mlp", "transformer": "transformer", "rnn": "lstm"}[p.family]


def _is_import_string(model: str) -> bool:
    return ":" in model


def left_out(rec: Recommendation, model: str) -> list[tuple[str, str]]:
    """``(arm, reason)`` for each technique step's arm the study cannot run on ``model``."""
    out = []
    for step in rec.steps:
        if step.arm is None:
            continue
        technique, _ = parse_arm(step.arm)
        if technique.requires == "residual" and model not in RESIDUAL_MODELS and not _is_import_string(model):
            out.append((step.arm, f"reglab's {model!r} has no residual blocks"))
    return out


def study_config(
    rec: Recommendation,
    *,
    base: Any = None,
    model: str | None = None,
    data: str | None = None,
    dataset: str | None = None,
    seeds: int = 3,
    epochs: int | None = None,
    name: str | None = None,
) -> Any:
    """The ``StudyConfig`` (``reglab study --config``) that tests ``rec`` on the user's model and data.

    Args:
        rec: the recommendation.
        base: a ``RunSpec`` (a stored run) whose data, model, optimizer, batch size and epochs the
            study reuses; its regularization is replaced by ``rec.current`` (the observed setting
            becomes the baseline) when the recommendation took it into account. Defaults to None.
        model: the model: a built-in name or an import string ``"package.module:factory"``.
            Defaults to the base's, else reglab's reference model of the family.
        data: the dataset: a built-in name or a path. Defaults to the base's; one of them is
            required (the study runs on the user's data).
        dataset: the same as ``data`` (the older name). Defaults to None.
        seeds: seeds per arm (>= 2 for intervals). Defaults to 3.
        epochs: epochs per run. Defaults to the recommended epochs (a fine-tuning recipe's; twice
            the base's when underfitting), else the base's, else the study default.
        name: the study name. Defaults to ``"recommend-<family>"``.

    Raises:
        ValueError: no data given; ``seeds`` or ``epochs`` below 1.
        ConfigError: a model or dataset the study config does not accept.
    """
    from pydantic import ValidationError

    from reglab.experiments.config import DEFAULT_EPOCHS, StudyConfig, config_error

    check_int("seeds", seeds, low=1)
    if epochs is not None:
        check_int("epochs", epochs, low=1)
    data = data if data is not None else dataset
    config: dict[str, Any] = {}
    if base is not None:
        spec = base.to_dict() if hasattr(base, "to_dict") else dict(base)
        config.update(epochs=spec["epochs"], batch_size=spec["batch_size"], data=spec["data"],
                      model=spec["model"], optimizer=spec["optimizer"])
    if data is not None:
        config["data"] = {**(config.get("data") or {}), "name": data}
    if "data" not in config:
        raise ValueError(invalid_argument(
            "data", "your dataset: a built-in name or a path (the study runs on your data)", None,
            shown="no data"))
    if model is not None:
        config["model"] = {"name": model} if (config.get("model") or {}).get("name") != model else config["model"]
    config.setdefault("model", {"name": reference_model(rec)})
    settings: dict[str, Any] = {}
    for step in rec.steps:
        if step.arm is None:
            settings.update({k: v for k, v in step.settings.items() if k in ("lr", "epochs", "epochs_factor")})
    if "lr" in settings:
        config["optimizer"] = {**(config.get("optimizer") or {}), "lr": settings["lr"]}
    if epochs is not None:
        config["epochs"] = epochs
    elif "epochs" in settings:
        config["epochs"] = settings["epochs"]
    elif "epochs_factor" in settings:
        config["epochs"] = settings["epochs_factor"] * int(config.get("epochs", DEFAULT_EPOCHS))
    if rec.current:
        config["regularization"] = dict(rec.current)
    skip = {arm for arm, _ in left_out(rec, config["model"]["name"])}
    arms = [a for a in rec.study_arms() if a not in skip]
    config.update(name=name or f"recommend-{rec.family}", seeds=seeds, arms=arms)
    try:
        return StudyConfig.model_validate({"kind": "study", **json.loads(json.dumps(config))})
    except ValidationError as exc:
        raise config_error(exc, StudyConfig) from None


def study_toml(rec: Recommendation, config: Any) -> str:
    """``config`` as TOML, headed by comments: the scenario, the advice steps a study cannot
    express (with their settings) and the arms left out; ``load_config`` reads it back unchanged."""
    from reglab.experiments.config import to_toml

    lines = [f"# reglab recommend: {rec.scenario} ({rec.verdict}).",
             "# Arms: baseline and each technique step at its recommended value."]
    shared = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
              for k, v in (("lr", config.optimizer.lr), ("epochs", config.epochs))]
    lines.append("# Shared settings: " + ", ".join(shared) + ".")
    advice = [s for s in rec.steps if s.arm is None and not s.is_technique]
    if advice:
        lines.append("# Advice a study arm cannot express (apply it to your training code):")
        lines += [f"#   {i}. {s.technique}" + (f": {s.settings_text()}" if s.settings else "")
                  for i, s in enumerate(advice, 1)]
    dropped = left_out(rec, config.model.name)
    if dropped:
        lines.append("# Left out: " + "; ".join(f"{arm} ({why})" for arm, why in dropped) + ".")
    return "\n".join(lines) + "\n" + to_toml(config)
