"""``reglab study`` and ``reglab sweep``: build the config, call ``run_study``, render the result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from reglab.cli.app import app, console, report_error

_CONFIG = typer.Option(None, "--config", "-c", help="TOML config file (see --print-config).")
_OUT = typer.Option(None, "--out", "-o", help="Output directory. Defaults to reglab-out/<name>.")
_NAME = typer.Option(None, "--name", help="Study name (the store keeps studies by name).")
_DATASET = typer.Option(
    None, "--data", "--dataset",
    help="Dataset (data.name): a built-in name (mnist1d, digits ...), a .npz/.csv/.parquet file, an image "
         "folder or package.module:loader.",
)
_TARGET = typer.Option(None, "--target", help="Label column of a CSV/Parquet --data (data.options.target).")
_IMAGE_SIZE = typer.Option(None, "--image-size", help="Side images of an image-folder --data are resized to (32).")
_TASK = typer.Option(None, "--task", help="classification or regression (default: detected from the labels).")
_MODEL = typer.Option(
    None, "--model",
    help="Model (model.name): mlp, cnn1d, resnet, ... or your own as package.module:factory.",
)
_MODEL_OUTPUT = typer.Option(
    None, "--model-output",
    help="The entry of your model's output that holds the logits (default: tensor, first of a tuple, 'logits').",
)
_EPOCHS = typer.Option(None, "--epochs", help="Training epochs per run.")
_SEEDS = typer.Option(None, "--seeds", help="Number of seeds per arm.")
_BATCH = typer.Option(None, "--batch-size", help="Batch size.")
_LR = typer.Option(None, "--lr", help="Learning rate (optimizer.lr).")
_OPT = typer.Option(None, "--optimizer", help="adamw, adam or sgd.")
_SCHEDULE = typer.Option(None, "--lr-schedule", help="constant, cosine, step or onecycle (optimizer.schedule).")
_WARMUP = typer.Option(None, "--warmup-epochs", help="Linear warm-up epochs of the cosine schedule.")
_STEP_SIZE = typer.Option(None, "--lr-step-size", help="Epochs between decays of the step schedule (default 30).")
_GAMMA = typer.Option(None, "--lr-gamma", help="Decay factor of the step schedule (default 0.1).")
_TRAIN = typer.Option(None, "--train-size", help="Training samples to keep (data.train_size).")
_NOISE = typer.Option(None, "--label-noise", help="Fraction of training labels flipped.")
_RUNNER = typer.Option(None, "--runner", help="auto, vectorized, processes or ray (a Ray cluster).")
_RAY = typer.Option(None, "--ray-address", help="Ray cluster for --runner ray (default: $RAY_ADDRESS or a local one).")
_WORKERS = typer.Option(None, "--workers", help="Worker processes. Defaults to one per core.")
_MASKS = typer.Option(
    None, "--masks",
    help="Vectorized runs' dropout masks: exact (the processes runner's masks and batches; numbers agree to float rounding, default) or fast (same law, cheaper).",
)
_SET = typer.Option(None, "--set", help="Override any field: --set dropout=0.1 --set model.width=256.")
_PRINT = typer.Option(False, "--print-config", help="Print the effective config as TOML and exit.")
_RESUME = typer.Option(True, "--resume/--no-resume", help="Skip runs already in the store (default).")
_QUIET = typer.Option(False, "--quiet", "-q", help="No live line per run.")
_LOSS = typer.Option(None, "--loss", help="Regression loss: mse (default) or gaussian_nll (mean and log-variance outputs).")
_YES = typer.Option(False, "--yes", "-y", help="Start a plan above 200,000 run-epochs (runs x epochs) without asking.")
_DATA_DIR = typer.Option(None, "--data-dir", help="Where downloaded datasets' files are ($REGLAB_DATA_DIR).")


def _use_data_dir(data_dir: Path | None) -> None:
    """Downloaded datasets' folder: machine-specific, so not part of the run specs (their keys
    stay the same on every machine); set for this process and its workers."""
    if data_dir is not None:
        import os

        os.environ["REGLAB_DATA_DIR"] = str(data_dir)


def _overrides(**flags: Any) -> dict[str, Any]:
    names = {
        "out": "out", "name": "name", "dataset": "dataset", "model": "model", "epochs": "epochs",
        "seeds": "seeds", "batch_size": "batch_size", "lr": "lr", "optimizer": "optimizer",
        "lr_schedule": "lr_schedule", "warmup_epochs": "warmup_epochs", "lr_step_size": "lr_step_size",
        "lr_gamma": "lr_gamma",
        "train_size": "train_size", "label_noise": "label_noise", "runner": "runner", "workers": "workers",
        "masks": "masks", "ray_address": "ray_address", "model_output": "model.output", "loss": "loss",
        "target": "data.options.target", "image_size": "data.options.image_size", "task": "data.options.task",
    }
    return {names[k]: (str(v) if isinstance(v, Path) else v) for k, v in flags.items() if v is not None}


def _show_user_data(data: Any) -> None:
    """One line per note on how the user's own data was read (encoded columns, dropped rows, the
    task, carved splits); the splits stay cached here, so the study does not read them again."""
    from reglab.data.user import kind_of
    from reglab.experiments.execute import load_splits

    if kind_of(data.name) == "builtin":
        return
    for note in load_splits(data).info.notes:
        console.print(f"Data: {escape(note)}", soft_wrap=True)


def _show_retrofit(report: Any) -> None:
    """How each arm was applied to a model reglab did not build (the report's notes, same words)."""
    from reglab.report import retrofit_notes

    notes = retrofit_notes(getattr(report, "summaries", None) or [])
    if notes:
        console.print("[bold]Applied to your model:[/bold]")
        for note in notes:
            console.print(f"  {escape(note)}", soft_wrap=True)


def _run(config: Any, resume: bool, quiet: bool, yes: bool = False) -> None:
    import os

    from reglab.experiments.bounds import check_confirmed, check_run_count

    check_confirmed(check_run_count(config), config.epochs, yes)

    from rich.console import Console

    from reglab.studies.study import run_study

    if not quiet:
        _show_user_data(config.data)
    out = Console(file=open(os.devnull, "w")) if quiet else console  # noqa: SIM115
    summary = run_study(config, resume=resume, console=out)
    if summary.planned == summary.skipped and summary.completed == 0 and not summary.failed:
        console.print(f"All {summary.planned} runs of {escape(summary.name)} were already complete.", soft_wrap=True)
    if summary.report is not None:
        table = getattr(summary.report, "table", None)
        if table is not None:
            console.print(table)
        _show_retrofit(summary.report)
        console.print(f"Report: {escape(str(summary.report.html_path))}", soft_wrap=True)
        console.print(f"        {escape(str(summary.report.markdown_path))}", soft_wrap=True)
    console.print(f"Store:  {escape(str(summary.store_path))}  ({summary.seconds:.1f} s)", soft_wrap=True)
    if summary.diverged:
        arm, seed, line = summary.diverged[0]
        console.print(
            f"[yellow]{len(summary.diverged)} of {summary.planned} runs diverged[/yellow] (first: {escape(arm)} seed "
            f"{seed} {escape(line)}) They are stored as results"
            f"{' and listed in the report' if summary.report is not None else ''}; lower the learning "
            "rate or the regularization strength.", soft_wrap=True,
        )
    if summary.failed:
        arm, seed, error = summary.failed[0]
        n = len(summary.failed)
        report_error(
            f"{n} of {summary.planned} runs failed (first: {arm} seed {seed}: {error}). Their errors are "
            "in the store; run the same command again to retry them."
        )
        raise typer.Exit(1)


def _techniques_table() -> Table:
    from reglab.techniques import TECHNIQUES

    table = Table(title="study arms (--arms)")
    table.add_column("name", style="bold")
    table.add_column("starting value")
    table.add_column("what it does")
    for t in TECHNIQUES.values():
        table.add_row(t.name, "" if t.default is None else repr(t.default), t.description)
    return table


@app.command("study")
def study(
    config: Path = _CONFIG,
    out: Path = _OUT,
    name: str = _NAME,
    dataset: str = _DATASET,
    model: str = _MODEL,
    model_output: str = _MODEL_OUTPUT,
    epochs: int = _EPOCHS,
    seeds: int = _SEEDS,
    batch_size: int = _BATCH,
    lr: float = _LR,
    optimizer: str = _OPT,
    lr_schedule: str = _SCHEDULE,
    warmup_epochs: int = _WARMUP,
    lr_step_size: int = _STEP_SIZE,
    lr_gamma: float = _GAMMA,
    train_size: int = _TRAIN,
    label_noise: float = _NOISE,
    loss: str = _LOSS,
    arms: str = typer.Option(None, "--arms", help="Comma-separated arms, e.g. baseline,dropout=0.5,stack; 'all'."),
    runner: str = _RUNNER,
    workers: int = _WORKERS,
    masks: str = _MASKS,
    ray_address: str = _RAY,
    sets: list[str] = _SET,
    print_config: bool = _PRINT,
    resume: bool = _RESUME,
    quiet: bool = _QUIET,
    list_techniques: bool = typer.Option(False, "--list-techniques", help="List the arms and exit."),
    data_dir: Path = _DATA_DIR,
    target: str = _TARGET,
    image_size: int = _IMAGE_SIZE,
    task: str = _TASK,
    yes: bool = _YES,
) -> None:
    """Compare regularization techniques: a baseline, each technique alone, and a stack, over seeds.

    With no arguments: MNIST-1D, the MLP, 3 seeds, arms baseline, dropout, weight_decay,
    early_stopping and stack; writes reglab-out/default/report.html and prints where.
    """
    from reglab.experiments.config import load_config, to_toml

    if list_techniques:
        console.print(_techniques_table())
        return
    flags = _overrides(out=out, name=name, dataset=dataset, model=model, model_output=model_output,
                       epochs=epochs, seeds=seeds,
                       batch_size=batch_size, lr=lr, optimizer=optimizer, train_size=train_size,
                       lr_schedule=lr_schedule, warmup_epochs=warmup_epochs, lr_step_size=lr_step_size,
                       lr_gamma=lr_gamma,
                       label_noise=label_noise, runner=runner, workers=workers, masks=masks,
                       ray_address=ray_address, target=target, image_size=image_size, task=task, loss=loss)
    if arms is not None:
        flags["arms"] = [a.strip() for a in arms.split(",")]
    cfg = load_config("study", path=config, overrides=flags, sets=sets or ())
    if print_config:
        typer.echo(to_toml(cfg), nl=False)
        return
    _use_data_dir(data_dir)
    _run(cfg, resume, quiet, yes)


@app.command("sweep")
def sweep(
    grid: list[str] = typer.Option(None, "--grid", help="field=v1,v2,...; repeat to cross fields."),
    config: Path = _CONFIG,
    out: Path = _OUT,
    name: str = _NAME,
    dataset: str = _DATASET,
    model: str = _MODEL,
    model_output: str = _MODEL_OUTPUT,
    epochs: int = _EPOCHS,
    seeds: int = _SEEDS,
    batch_size: int = _BATCH,
    lr: float = _LR,
    optimizer: str = _OPT,
    lr_schedule: str = _SCHEDULE,
    warmup_epochs: int = _WARMUP,
    lr_step_size: int = _STEP_SIZE,
    lr_gamma: float = _GAMMA,
    train_size: int = _TRAIN,
    label_noise: float = _NOISE,
    loss: str = _LOSS,
    runner: str = _RUNNER,
    workers: int = _WORKERS,
    masks: str = _MASKS,
    ray_address: str = _RAY,
    sets: list[str] = _SET,
    print_config: bool = _PRINT,
    resume: bool = _RESUME,
    quiet: bool = _QUIET,
    data_dir: Path = _DATA_DIR,
    target: str = _TARGET,
    image_size: int = _IMAGE_SIZE,
    task: str = _TASK,
    yes: bool = _YES,
) -> None:
    """Train every combination of the grid values, for each seed, and report.

    Example: reglab sweep --grid dropout=0,0.25,0.5,0.75 --grid weight_decay=0,1e-4,1e-2
    """
    from reglab.experiments.config import load_config, to_toml

    flags = _overrides(out=out, name=name, dataset=dataset, model=model, model_output=model_output,
                       epochs=epochs, seeds=seeds,
                       batch_size=batch_size, lr=lr, optimizer=optimizer, train_size=train_size,
                       lr_schedule=lr_schedule, warmup_epochs=warmup_epochs, lr_step_size=lr_step_size,
                       lr_gamma=lr_gamma,
                       label_noise=label_noise, runner=runner, workers=workers, masks=masks,
                       ray_address=ray_address, target=target, image_size=image_size, task=task, loss=loss)
    cfg = load_config("sweep", path=config, overrides=flags, sets=sets or (), grid=grid or ())
    if print_config:
        typer.echo(to_toml(cfg), nl=False)
        return
    _use_data_dir(data_dir)
    _run(cfg, resume, quiet, yes)
