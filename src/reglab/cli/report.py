"""``reglab report`` (HTML + Markdown report of a run store) and ``reglab recommend`` (an ordered
regularization strategy, optionally written out as the study that validates it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from reglab.cli.app import app, console
from reglab.errors import invalid_argument


@app.command("report")
def report(
    store: Path = typer.Option(..., "--store", "-s", help="The run store (runs.sqlite) of a study or sweep."),
    out: Path = typer.Option(None, "--out", "-o", help="Output directory. Defaults to the store's directory."),
    study: str = typer.Option(None, "--study", help="Which study of the store (needed when it holds several)."),
    baseline: str = typer.Option(None, "--baseline", help="The reference arm for effects. Defaults to 'baseline' (or the arm without regularization)."),
    title: str = typer.Option(None, "--title", help="Report title. Defaults to 'reglab report: <study>'."),
) -> None:
    """Write report.html (self-contained) and report.md from a run store; print the summary table."""
    from reglab.report import build_report

    out_dir = out if out is not None else store.parent
    result = build_report(store, out_dir, study=study, baseline=baseline, title=title)
    console.print(result.table)
    console.print(escape(result.findings))
    console.print(f"Report: {escape(str(result.html_path))}  ({len(result.figure_ids)} figures)",
                  soft_wrap=True)
    console.print(f"        {escape(str(result.markdown_path))}", soft_wrap=True)


def _from_store(path: Path, arm: str | None, study: str | None) -> tuple[dict[str, Any], Any]:
    """Facts for ``recommend`` from the runs of one arm of a store (accuracies: seed means)."""
    from reglab.analysis.effects import as_run_views
    from reglab.report import load_runs

    runs, _, _ = load_runs(path, study)
    views = as_run_views(runs)
    arms = list(dict.fromkeys(v.arm for v in views))
    if not arms:
        from reglab.errors import StoreError

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
    facts: dict[str, Any] = {
        "family": first.spec["model"]["name"],
        "n_train": first.final.get("n_train"),
        "num_classes": first.final.get("num_classes"),
        "n_params": first.final.get("n_params"),
        "train_acc": mean("train_acc"),
        "val_acc": mean("val_acc"),
        "current": first.regularization,
    }
    from reglab.experiments.spec import RunSpec

    return facts, RunSpec.from_dict(first.spec)


@app.command("recommend")
def recommend_cmd(
    family: str = typer.Option(None, "--family", "-f", help="Model family: mlp, cnn, transformer or rnn (reglab model names work too)."),
    n_train: int = typer.Option(None, "--n-train", help="Number of training examples."),
    num_classes: int = typer.Option(None, "--classes", "--num-classes", help="Number of classes."),
    n_params: int = typer.Option(None, "--params", "--n-params", help="Trainable parameters of the model."),
    train_acc: float = typer.Option(None, "--train-acc", help="Observed final training accuracy in [0, 1]."),
    val_acc: float = typer.Option(None, "--val-acc", help="Observed final validation accuracy in [0, 1]."),
    fine_tuning: bool = typer.Option(False, "--fine-tuning/--from-scratch", help="The model starts from pretrained weights."),
    from_store: Path = typer.Option(None, "--from-store", help="Take the facts from a stored run (flags given explicitly win)."),
    arm: str = typer.Option(None, "--arm", help="Arm of --from-store to use. Defaults to 'baseline' (accuracies: mean over its seeds)."),
    study: str = typer.Option(None, "--study", help="Study of --from-store (needed when it holds several)."),
    emit_config: Path = typer.Option(None, "--emit-config", help="Write the study that validates the strategy (TOML for `reglab study --config`)."),
    dataset: str = typer.Option(None, "--dataset", help="Dataset of the emitted study. Defaults to the stored run's, else mnist1d."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds per arm in the emitted study."),
    epochs: int = typer.Option(None, "--epochs", help="Epochs per run in the emitted study. Defaults to the stored run's, else the study default (doubled when underfitting)."),
) -> None:
    """Recommend an ordered regularization strategy with starting values and reasons.

    Example: reglab recommend --family mlp --n-train 3200 --classes 10 --params 15210
    --train-acc 1.0 --val-acc 0.66 --emit-config study.toml
    """
    from reglab.analysis.recommend import FAMILIES, recommend, study_config

    facts: dict[str, Any] = {}
    base = None
    if from_store is not None:
        facts, base = _from_store(from_store, arm, study)
    given = {"family": family, "n_train": n_train, "num_classes": num_classes, "n_params": n_params,
             "train_acc": train_acc, "val_acc": val_acc}
    facts.update({k: v for k, v in given.items() if v is not None})
    flags = {"family": "--family", "n_train": "--n-train", "num_classes": "--classes",
             "n_params": "--params"}
    for name, flag in flags.items():
        if facts.get(name) is None:
            expected = (f"one of {', '.join(repr(f) for f in FAMILIES)}" if name == "family"
                        else "an integer >= 1" if name != "num_classes" else "an integer >= 2")
            source = "the stored runs do not record it" if from_store is not None else "required"
            raise ValueError(invalid_argument(name, f"{expected} (pass {flag}; {source})", None,
                                              shown="nothing"))
    if base is not None and dataset is not None:
        base = base.model_copy(update={"data": base.data.model_copy(update={"name": dataset})})
    rec = recommend(
        facts["family"], facts["n_train"], facts["num_classes"], facts["n_params"],
        facts.get("train_acc"), facts.get("val_acc"), fine_tuning=fine_tuning,
        current=facts.get("current"),
    )
    config = None
    if emit_config is not None:
        config = study_config(rec, base=base, dataset=dataset, seeds=seeds, epochs=epochs)

    console.print(f"[bold]{escape(rec.summary)}[/bold]")
    for warning in rec.warnings:
        console.print(f"[yellow]Warning:[/yellow] {escape(warning)}")
    console.print(f"Strategy for this {escape(rec.family)} ({escape(rec.verdict)}), in order:")
    for i, step in enumerate(rec.steps, 1):
        arm = f"  [dim](study arm: {escape(step.arm)})[/dim]" if step.arm else ""
        start = (f": start with [cyan]{escape(step.settings_text())}[/cyan]" if step.settings
                 else "")
        console.print(f"{i}. [bold]{escape(step.technique)}[/bold]{start}{arm}")
        console.print(f"   {escape(step.reason)}")
    if config is not None:
        from reglab.experiments.config import to_toml

        try:
            emit_config.parent.mkdir(parents=True, exist_ok=True)
            emit_config.write_text(to_toml(config), encoding="utf-8")
        except OSError as exc:
            raise ValueError(invalid_argument(
                "emit_config", "a writable file path", str(emit_config),
                shown=f"--emit-config {str(emit_config)!r} ({exc.strerror})")) from None
        console.print(
            f"Wrote study {escape(config.name)} ({len(config.arms)} arms x {config.seeds} seeds) "
            f"to {escape(str(emit_config))}; run it with: reglab study --config "
            f"{escape(str(emit_config))}",
            soft_wrap=True,
        )
        if rec.fine_tuning:
            console.print("Note: the study trains reglab's reference model from scratch; apply "
                          "the same settings to your pretrained model.")
