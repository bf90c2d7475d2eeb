"""``reglab tune``: build the tune config, call ``run_tune``, render the trials and the result."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from reglab.cli.app import app, console, report_error
from reglab.cli.study import (
    _BATCH,
    _CONFIG,
    _DATA_DIR,
    _DATASET,
    _EPOCHS,
    _IMAGE_SIZE,
    _LR,
    _MODEL,
    _MODEL_OUTPUT,
    _NAME,
    _NOISE,
    _OPT,
    _OUT,
    _PRINT,
    _QUIET,
    _RAY,
    _SET,
    _TARGET,
    _TASK,
    _TRAIN,
    _use_data_dir,
)


@app.command("tune")
def tune(
    techniques: str = typer.Option(None, "--techniques", help="Comma-separated techniques to search, e.g. dropout,weight_decay."),
    trials: int = typer.Option(None, "--trials", help="Finished trials the study should hold (the baseline included). Defaults to 20."),
    pruner: str = typer.Option(None, "--pruner", help="median (default), halving or none."),
    seed: int = typer.Option(None, "--seed", help="Seed of every trial's run and of the sampler. Defaults to 0."),
    config: Path = _CONFIG,
    out: Path = _OUT,
    name: str = _NAME,
    dataset: str = _DATASET,
    model: str = _MODEL,
    model_output: str = _MODEL_OUTPUT,
    target: str = _TARGET,
    image_size: int = _IMAGE_SIZE,
    task: str = _TASK,
    epochs: int = _EPOCHS,
    batch_size: int = _BATCH,
    lr: float = _LR,
    optimizer: str = _OPT,
    train_size: int = _TRAIN,
    label_noise: float = _NOISE,
    runner: str = typer.Option(None, "--runner", help="local (default: trials in this process) or ray (Ray tasks)."),
    workers: int = typer.Option(None, "--workers", help="Ray trials in flight at once. Defaults to the cluster's CPUs."),
    ray_address: str = _RAY,
    sets: list[str] = _SET,
    print_config: bool = _PRINT,
    quiet: bool = _QUIET,
    data_dir: Path = _DATA_DIR,
) -> None:
    """Search regularization strengths with Optuna (TPE, pruning on the per-epoch validation metric);
    report the best setting on validation and its test score, measured once.

    Each technique is searched over the range of its definition (`reglab techniques`). The study is
    kept in <out>/tune.sqlite: the same command again resumes it, and a larger --trials adds trials.
    Example: reglab tune --techniques dropout,weight_decay --trials 20 --epochs 30
    """
    from reglab.experiments.config import to_toml
    from reglab.studies.tune import best_lines, load_tune_config, run_tune, trials_table

    flags = {"out": str(out) if out is not None else None, "name": name, "dataset": dataset, "model": model,
             "epochs": epochs, "batch_size": batch_size, "lr": lr, "optimizer": optimizer, "train_size": train_size,
             "label_noise": label_noise, "runner": runner, "workers": workers, "ray_address": ray_address,
             "trials": trials, "pruner": pruner, "seed": seed, "model.output": model_output,
             "data.options.target": target, "data.options.image_size": image_size, "data.options.task": task,
             "techniques": [t.strip() for t in techniques.split(",")] if techniques is not None else None}
    cfg = load_tune_config(config, flags, sets or ())
    if print_config:
        typer.echo(to_toml(cfg), nl=False)
        return
    _use_data_dir(data_dir)
    summary = run_tune(cfg, console=None if quiet else console)
    if summary.ran == 0:
        console.print(f"All {cfg.trials} trials of {escape(summary.name)} were already finished.", soft_wrap=True)
    console.print(trials_table(summary))
    for line in best_lines(summary):
        console.print(escape(line), soft_wrap=True)
    console.print(f"Trials: {escape(str(summary.markdown_path))}", soft_wrap=True)
    console.print(f"Study:  {escape(str(summary.db_path))}  ({summary.seconds:.1f} s)", soft_wrap=True)
    failed = [row for row in summary.trials[-summary.ran:] if row.state == "failed"] if summary.ran else []
    if failed:
        report_error(f"{len(failed)} of {summary.ran} trials failed (first: trial {failed[0].number}: "
                     f"{failed[0].error}); run the same command again to run as many new trials.")
        raise typer.Exit(1)
