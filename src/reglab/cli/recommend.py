"""``reglab recommend``: an ordered regularization strategy from published recipes, optionally
ordered by what a run store measured, and written out as the study that tests it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from reglab.cli.app import app, console
from reglab.errors import StoreError, invalid_argument


def _from_store(path: Path, arm: str | None, study: str | None) -> tuple[dict[str, Any], Any, list[Any]]:
    """Facts of one arm of a store (accuracies: means over its seeds), its run spec, and every
    arm's summary (the analysis layer's effects)."""
    from reglab.analysis.effects import as_run_views, summarize_arms
    from reglab.analysis.recommend import NO_FLIP_DATASETS, family_of_model, modality_of_dataset
    from reglab.experiments.spec import RunSpec
    from reglab.report import load_runs

    runs, _, _ = load_runs(path, study)
    views = as_run_views(runs)
    arms = list(dict.fromkeys(v.arm for v in views))
    if not arms:
        raise StoreError(f"Run store {str(path)!r} holds no completed runs. Expected at least one "
                         "completed run. Received: 0 completed runs")
    if arm is None:
        if "baseline" in arms:
            arm = "baseline"
        elif len(arms) == 1:
            arm = arms[0]
        else:
            raise ValueError(invalid_argument(
                "arm", "one of " + ", ".join(repr(a) for a in arms) + " (the store has several arms)",
                None, shown="no --arm"))
    chosen = [v for v in views if v.arm == arm]
    if not chosen:
        raise ValueError(invalid_argument("arm", "one of " + ", ".join(repr(a) for a in arms), arm))

    def mean(key: str) -> float | None:
        values = [float(v.final[key]) for v in chosen if v.final.get(key) is not None]
        return sum(values) / len(values) if values else None

    first = chosen[0]
    data, model = first.spec["data"]["name"], first.spec["model"]["name"]
    try:
        family = family_of_model(model)
    except ValueError:  # a user's model: --family says what it is
        family = None
    facts: dict[str, Any] = {
        "family": family,
        "model": model,
        "n_train": first.final.get("n_train"),
        "num_classes": first.final.get("num_classes"),
        "n_params": first.final.get("n_params"),
        "train_acc": mean("train_acc"),
        "val_acc": mean("val_acc"),
        "current": first.regularization,
        "modality": modality_of_dataset(data) or _user_modality(RunSpec.from_dict(first.spec)),
        "flips": data not in NO_FLIP_DATASETS,
        "task": "regression" if first.final.get("test_rmse") is not None or first.final.get("num_classes") == 1
                else "classification",
    }
    return facts, RunSpec.from_dict(first.spec), summarize_arms(runs)


def _user_modality(spec: Any) -> str | None:
    """The modality of a user's data from its input shape (the file is read again); None when it
    cannot be read any more (then --modality or the family's default decides)."""
    from reglab.analysis.recommend import modality_of_shape
    from reglab.errors import ReglabError
    from reglab.experiments.execute import load_splits

    try:
        return modality_of_shape(load_splits(spec.data).info.input_shape)
    except (ReglabError, ValueError, OSError):
        return None


def _render(rec: Any) -> None:
    console.print(f"[bold]{escape(rec.summary)}[/bold]")
    for warning in rec.warnings:
        console.print(f"[yellow]Warning:[/yellow] {escape(warning)}")
    fit = "fit not observed" if rec.verdict == "unknown" else rec.verdict
    console.print(f"Strategy ({escape(rec.scenario)}; {escape(fit)}), in order:")
    for i, step in enumerate(rec.steps, 1):
        arm = f"  [dim](study arm: {escape(step.arm)})[/dim]" if step.arm else ""
        start = f": start with [cyan]{escape(step.settings_text())}[/cyan]" if step.settings else ""
        console.print(f"{i}. [bold]{escape(step.technique)}[/bold]{start}{arm}")
        console.print(f"   {escape(step.reason)}")
        if step.evidence:
            console.print(f"   [magenta]{escape(step.evidence[0].upper() + step.evidence[1:])}[/magenta]")
        console.print(f"   [dim]Source: {escape(step.source)}[/dim]")
    for item in rec.avoid:
        console.print(f"[red]Not recommended:[/red] {escape(item)}")
    for note in rec.notes:
        console.print(f"Note: {escape(note)}")


@app.command("recommend")
def recommend_cmd(
    family: str = typer.Option(None, "--family", "-f", help="Model family: mlp, cnn, transformer or rnn (model names work too: resnet50, bert, lstm)."),
    n_train: int = typer.Option(None, "--n-train", help="Number of training examples."),
    num_classes: int = typer.Option(None, "--classes", "--num-classes", help="Number of classes (the vocabulary size for a language model)."),
    n_params: int = typer.Option(None, "--params", "--n-params", help="Trainable parameters of the model."),
    train_acc: float = typer.Option(None, "--train-acc", help="Observed final training accuracy in [0, 1]."),
    val_acc: float = typer.Option(None, "--val-acc", help="Observed final validation accuracy in [0, 1]."),
    fine_tuning: bool = typer.Option(False, "--fine-tuning/--from-scratch", help="The model starts from pretrained weights."),
    modality: str = typer.Option(None, "--modality", help="image, text, tabular or signal. Defaults to the dataset's, else image for cnn, text for transformer/rnn, tabular for mlp."),
    task: str = typer.Option(None, "--task", help="classification, regression or language_model. Defaults to the stored runs' task, else classification."),
    residual: bool = typer.Option(None, "--residual/--no-residual", help="The model has residual blocks. Defaults to yes for resnet* names and transformers."),
    flips: bool = typer.Option(None, "--flips/--no-flips", help="A horizontal flip keeps the label (not for digits or text). Defaults to yes (no for the built-in digit sets)."),
    from_store: Path = typer.Option(None, "--from-store", help="Take the facts from a stored run and order the steps by what the store measured (flags given explicitly win)."),
    arm: str = typer.Option(None, "--arm", help="Arm of --from-store whose runs give the facts. Defaults to 'baseline' (accuracies: mean over its seeds)."),
    study: str = typer.Option(None, "--study", help="Study of --from-store (needed when it holds several)."),
    emit_config: Path = typer.Option(None, "--emit-config", help="Write the study that tests the strategy on your model and data (TOML for `reglab study --config`)."),
    model: str = typer.Option(None, "--model", help="Model of the emitted study: a built-in name or package.module:factory. Defaults to the stored run's, else reglab's reference model of the family."),
    data: str = typer.Option(None, "--data", "--dataset", help="Dataset of the emitted study: a built-in name or a path. Defaults to the stored run's."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds per arm in the emitted study."),
    epochs: int = typer.Option(None, "--epochs", help="Epochs per run in the emitted study. Defaults to the recommended ones, else the stored run's, else the study default."),
) -> None:
    """Recommend an ordered regularization strategy, each step with its starting values, reason
    and source.

    Example: reglab recommend --family resnet50 --modality image --n-train 5000 --classes 50
    --params 25000000 --train-acc 0.98 --val-acc 0.71
    """
    from reglab.analysis.recommend import FAMILIES, NO_FLIP_DATASETS, modality_of_dataset, recommend, study_config, study_toml

    facts: dict[str, Any] = {}
    base, measured = None, None
    if from_store is not None:
        facts, base, measured = _from_store(from_store, arm, study)
    given = {"family": family, "n_train": n_train, "num_classes": num_classes, "n_params": n_params,
             "train_acc": train_acc, "val_acc": val_acc, "modality": modality, "flips": flips}
    if data is not None:
        given["modality"] = modality or modality_of_dataset(data)
        given["flips"] = flips if flips is not None else data not in NO_FLIP_DATASETS
    facts.update({k: v for k, v in given.items() if v is not None})
    task = task or facts.get("task", "classification")
    if task == "regression" and facts.get("num_classes") is None:
        facts["num_classes"] = 1  # one output
    flags = {"family": "--family", "n_train": "--n-train", "num_classes": "--classes",
             "n_params": "--params"}
    for name, flag in flags.items():
        if facts.get(name) is None:
            expected = (f"one of {', '.join(repr(f) for f in FAMILIES)}" if name == "family"
                        else "an integer >= 2" if name == "num_classes" and task != "regression"
                        else "an integer >= 1")
            source = "the stored runs do not record it" if from_store is not None else "required"
            if name == "family" and facts.get("model"):
                source = f"the stored model {facts['model']!r} is not a reglab model"
            raise ValueError(invalid_argument(name, f"{expected} (pass {flag}; {source})", None,
                                              shown="nothing"))
    rec = recommend(
        facts["family"], facts["n_train"], facts["num_classes"], facts["n_params"],
        facts.get("train_acc"), facts.get("val_acc"), fine_tuning=fine_tuning,
        modality=facts.get("modality"), task=task, residual=residual,
        flips=facts.get("flips", True), current=facts.get("current"), measured=measured,
    )
    config = None
    if emit_config is not None:
        config = study_config(rec, base=base, model=model, data=data, seeds=seeds, epochs=epochs)
    _render(rec)
    if config is not None:
        try:
            emit_config.parent.mkdir(parents=True, exist_ok=True)
            emit_config.write_text(study_toml(rec, config), encoding="utf-8")
        except OSError as exc:
            raise ValueError(invalid_argument(
                "emit_config", "a writable file path", str(emit_config),
                shown=f"--emit-config {str(emit_config)!r} ({exc.strerror})")) from None
        console.print(
            f"Wrote study {escape(config.name)} ({len(config.arms)} arms x {config.seeds} seeds; "
            f"model {escape(config.model.name)}, data {escape(config.data.name)}) to "
            f"{escape(str(emit_config))}; run it with: reglab study --config {escape(str(emit_config))}",
            soft_wrap=True,
        )
