"""``reglab uncertainty`` (deterministic vs MC-dropout calibration of a trained run) and
``reglab distill`` (the teacher-student distillation study)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from reglab.cli.app import app, console, report_error
from reglab.cli.study import _IMAGE_SIZE, _TARGET, _TASK


def _check_dataset(name: str) -> None:
    """``--dataset`` names a built-in dataset or a user's data (the message names the flag, not an
    inner argument)."""
    from reglab._validate import format_choices
    from reglab.data import available
    from reglab.errors import invalid_argument

    from reglab.data.user import kind_of

    names = [row[0] if isinstance(row, (tuple, list)) else getattr(row, "name", row) for row in available()]
    if name not in names and kind_of(name) == "unknown":  # a user's file, folder or module:loader passes
        raise ValueError(invalid_argument("--dataset", f"one of {format_choices(names)}", name))


@app.command("uncertainty")
def uncertainty(
    store: Path = typer.Option(None, "--store", "-s", help="Evaluate a run of this run store (runs.sqlite). Without it: a fresh run from the flags below."),
    study: str = typer.Option(None, "--study", help="Study of --store (needed when it holds several)."),
    arm: str = typer.Option(None, "--arm", help="Arm of --store. Defaults to the first arm trained with dropout."),
    seed: int = typer.Option(None, "--seed", help="Seed of the run (--store: defaults to the arm's lowest seed; fresh run: 0)."),
    dataset: str = typer.Option("mnist1d", "--dataset", "--data", help="Fresh run: dataset (a built-in name, a .npz/.csv/.parquet file, an image folder or package.module:loader)."),
    model: str = typer.Option("mlp", "--model", help="Fresh run: model."),
    dropout: float = typer.Option(0.2, "--dropout", help="Fresh run: dropout rate (must be > 0 for MC dropout)."),
    loss: str = typer.Option(None, "--loss", help="Fresh regression run: mse (default) or gaussian_nll."),
    epochs: int = typer.Option(100, "--epochs", help="Fresh run: training epochs."),
    train_size: int = typer.Option(None, "--train-size", help="Fresh run: training samples to keep."),
    target: str = _TARGET,
    image_size: int = _IMAGE_SIZE,
    task: str = _TASK,
    samples: int = typer.Option(30, "--samples", "-T", help="MC dropout passes."),
    mc_seed: int = typer.Option(0, "--mc-seed", help="Seed of the MC passes."),
    bins: int = typer.Option(15, "--bins", help="Equal-width bins of the ECE and the reliability diagram."),
    top_k: int = typer.Option(10, "--top", help="How many of the most uncertain test inputs to list."),
    rank_by: str = typer.Option("mutual_information", "--rank-by", help="mutual_information (BALD), entropy or variance."),
    out: Path = typer.Option(None, "--out", "-o", help="Write uncertainty.html/.md and figures here. Defaults to the store's directory, or reglab-out/uncertainty."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Run more than 10,000 MC passes (or a fresh run above 200,000 epochs) without asking."),
) -> None:
    """Deterministic vs MC-dropout accuracy, ECE, NLL and Brier score; the most uncertain test
    inputs (drawn for images and 1-D signals); a reliability diagram. For a regression run: RMSE,
    log-likelihood, the model precision tau (chosen on validation data) and the coverage of the
    68%/95% predictive intervals instead.

    The run store keeps specs and final metrics, not weights: a stored run is RE-TRAINED from its
    spec (same seed, same numbers as the stored run; runs of the vectorized runner agree up to
    float rounding), then evaluated. MC dropout: Gal & Ghahramani 2016 (arXiv:1506.02142).
    """
    from reglab.report.reliability import uncertainty_rows, write_uncertainty_report
    from reglab.studies.uncertainty import evaluate_uncertainty, find_stored_run

    from reglab.experiments.bounds import check_confirmed, check_samples_confirmed

    check_samples_confirmed(samples, yes)
    check_confirmed(1, epochs, yes)
    stored_final = None
    if store is None:
        _check_dataset(dataset)
    if store is not None:
        run = find_stored_run(store, study=study, arm=arm, seed=seed)
        spec, stored_final = run.spec, dict(run.final)
        console.print(f"Re-training stored run {escape(spec.arm)} seed {spec.seed} ({spec.epochs} epochs) "
                      "from its spec: the store keeps no weights.", soft_wrap=True)
        out_dir = out if out is not None else store.parent
    else:
        from reglab.experiments.config import config_error
        from reglab.experiments.spec import RunSpec

        data: dict[str, Any] = {"name": dataset}
        if train_size is not None:
            data["train_size"] = train_size
        options = {k: v for k, v in (("target", target), ("image_size", image_size), ("task", task)) if v is not None}
        if options:
            data["options"] = options
        from pydantic import ValidationError

        try:
            spec = RunSpec.model_validate({
                "arm": f"dropout={dropout:g}", "seed": 0 if seed is None else seed, "epochs": epochs,
                "data": data, "model": {"name": model}, "regularization": {"dropout": dropout},
                **({} if loss is None else {"loss": loss})})
        except ValidationError as exc:
            raise config_error(exc, RunSpec) from None
        out_dir = out if out is not None else Path("reglab-out") / "uncertainty"
    from reglab.studies.uncertainty_regression import spec_task

    if spec_task(spec) == "regression":
        _regression(spec, samples=samples, mc_seed=mc_seed, stored_final=stored_final, out_dir=out_dir)
        return
    result = evaluate_uncertainty(spec, samples=samples, seed=mc_seed, n_bins=bins, top_k=top_k,
                                  rank_by=rank_by, stored_final=stored_final)
    table = Table(title=f"{spec.arm} seed {spec.seed} on {spec.data.name}: {result.split} set "
                        f"({result.deterministic.n} examples)")
    for head in ("metric", "deterministic", f"MC dropout T={samples}", "MC - det."):
        table.add_column(head, justify="left" if head == "metric" else "right")
    for row in uncertainty_rows(result):
        table.add_row(*row)
    console.print(table)
    if stored_final is not None and stored_final.get("test_acc") is not None:
        console.print(f"Stored test accuracy {100 * stored_final['test_acc']:.1f}%, re-trained "
                      f"{100 * result.deterministic.accuracy:.1f}%.", soft_wrap=True)
    names = result.class_names
    unc = Table(title=f"Most uncertain {result.split} inputs (by {rank_by})")
    for head in ("index", "label", "MC prediction", "confidence", "entropy", "mutual info"):
        unc.add_column(head, justify="right")
    for r in result.uncertain:
        label = names[r["label"]] if names else str(r["label"])
        pred = names[r["prediction"]] if names else str(r["prediction"])
        unc.add_row(str(r["index"]), label, pred, f"{r['confidence']:.3f}", f"{r['entropy']:.3f}",
                    f"{r['mutual_information']:.4f}")
    console.print(unc)
    html_path, md_path, figs = write_uncertainty_report(result, out_dir)
    console.print(f"Report: {escape(str(html_path))}  ({len(figs)} figures)", soft_wrap=True)
    console.print(f"        {escape(str(md_path))}", soft_wrap=True)


def _regression(spec: Any, *, samples: int, mc_seed: int, stored_final: dict[str, Any] | None,
                out_dir: Path) -> None:
    """``reglab uncertainty`` on a regression run: the scores table, tau, uncertainty.md."""
    from reglab.studies.uncertainty_regression import evaluate_regression_uncertainty, regression_rows

    result = evaluate_regression_uncertainty(spec, samples=samples, seed=mc_seed, stored_final=stored_final)
    heads = ("metric", "deterministic", f"MC dropout T={samples}", "MC - det.")
    title = (f"{spec.arm} seed {spec.seed} on {spec.data.name}: {result.split} set "
             f"({result.mc.n} examples, original units)")
    table = Table(title=title)
    for head in heads:
        table.add_column(head, justify="left" if head == "metric" else "right")
    rows = regression_rows(result)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if result.tau is not None:
        noise = (f"tau = {result.tau:.4g} (noise std {result.tau ** -0.5:.4g}), chosen on the validation split; "
                 f"eval mode uses the validation RMSE {result.sigma:.4g} as its noise std.")
    else:
        noise = "The model predicts its own noise variance (Gaussian NLL): no tau."
    console.print(noise, soft_wrap=True)
    if stored_final is not None and stored_final.get("test_rmse") is not None:
        console.print(f"Stored test RMSE {stored_final['test_rmse']:.4g}, re-trained {result.deterministic.rmse:.4g}.",
                      soft_wrap=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "uncertainty.md"
    lines = [f"# MC dropout regression: {title}", "", "| " + " | ".join(heads) + " |",
             "|---|---:|---:|---:|", *("| " + " | ".join(r) + " |" for r in rows), "", noise, ""]
    md.write_text("\n".join(lines), encoding="utf-8")
    console.print(f"Report: {escape(str(md))}", soft_wrap=True)


@app.command("distill")
def distill(
    config: Path = typer.Option(None, "--config", "-c", help="TOML file of a study (see --print-config); its [distillation] table holds the teacher."),
    out: Path = typer.Option(None, "--out", "-o", help="Output directory. Defaults to reglab-out/<name>."),
    name: str = typer.Option(None, "--name", help="Study name (default distillation)."),
    dataset: str = typer.Option(None, "--dataset", help="Dataset (default mnist1d)."),
    train_size: int = typer.Option(None, "--train-size", help="Training samples to keep."),
    epochs: int = typer.Option(None, "--epochs", help="Epochs of every student (default 60)."),
    teacher_epochs: int = typer.Option(None, "--teacher-epochs", help="Epochs of the teachers (default: --epochs)."),
    seeds: int = typer.Option(None, "--seeds", help="Seeds (default 3)."),
    batch_size: int = typer.Option(None, "--batch-size", help="Batch size (default 100)."),
    lr: float = typer.Option(None, "--lr", help="Learning rate (optimizer.lr) of every run, teachers included."),
    optimizer: str = typer.Option(None, "--optimizer", help="adamw, adam or sgd."),
    teacher_width: int = typer.Option(None, "--teacher-width", help="Hidden width of the teacher model (default 512)."),
    student_width: int = typer.Option(None, "--student-width", help="Hidden width of the student model (default 32)."),
    teacher_dropout: float = typer.Option(None, "--teacher-dropout", help="Dropout inside the teacher model (default 0.3)."),
    temperature: float = typer.Option(None, "--temperature", "-T", help="Softening temperature (default 4)."),
    alpha: float = typer.Option(None, "--alpha", help="Weight of the soft (distillation) term, in [0, 1] (default 0.9)."),
    ensemble: int = typer.Option(None, "--ensemble", help="Teachers of the ensemble arm; 0: no ensemble arm (default 3)."),
    self_distillation: bool = typer.Option(None, "--self/--no-self", help="Train the born-again (teacher-size self-distillation) arm (default on)."),
    runner: str = typer.Option(None, "--runner", help="auto, vectorized, processes or ray."),
    workers: int = typer.Option(None, "--workers", help="Worker processes (default 1: teachers are reused within a process)."),
    sets: list[str] = typer.Option(None, "--set", help="Override any study field: --set dropout=0.1."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Skip runs already in the store (default)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No live line per run."),
    print_config: bool = typer.Option(False, "--print-config", help="Print the effective study config as TOML and exit."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Start a plan above 200,000 run-epochs without asking."),
    lr_schedule: str = typer.Option(None, "--lr-schedule", help="constant, cosine, step or onecycle (optimizer.schedule)."),
    warmup_epochs: int = typer.Option(None, "--warmup-epochs", help="Linear warm-up epochs of the cosine schedule."),
    lr_step_size: int = typer.Option(None, "--lr-step-size", help="Epochs between decays of the step schedule (default 30)."),
    lr_gamma: float = typer.Option(None, "--lr-gamma", help="Decay factor of the step schedule (default 0.1)."),
) -> None:
    """Teacher-student study (Hinton et al. 2015) as an ordinary study: the student from scratch
    (baseline), the teacher, the distilled, ensemble-distilled and born-again students over seeds,
    with the study's report (95% intervals, effects vs the student)."""
    from reglab.cli.study import _overrides, _run
    from reglab.experiments.config import to_toml
    from reglab.studies.distillation import distillation_config

    if dataset is not None:
        _check_dataset(dataset)
    overrides = _overrides(out=out, name=name, dataset=dataset, train_size=train_size, epochs=epochs, seeds=seeds,
                           batch_size=batch_size, lr=lr, optimizer=optimizer, runner=runner, workers=workers,
                           lr_schedule=lr_schedule, warmup_epochs=warmup_epochs, lr_step_size=lr_step_size,
                           lr_gamma=lr_gamma)
    if student_width is not None:
        overrides["model.options.width"] = student_width
    teacher_options = {k: v for k, v in (("width", teacher_width), ("dropout", teacher_dropout)) if v is not None}
    cfg = distillation_config(config, overrides, sets or (), teacher={"options": teacher_options} if teacher_options else None,
                              temperature=temperature, alpha=alpha, teacher_epochs=teacher_epochs, ensemble=ensemble,
                              self_distillation=self_distillation)
    if print_config:
        typer.echo(to_toml(cfg), nl=False)
        return
    from reglab.experiments.bounds import check_confirmed, check_run_count

    # the teachers may train longer than the students: count the plan at the longer of the two
    teacher_epochs = cfg.distillation.teacher_epochs if cfg.distillation is not None else None
    check_confirmed(check_run_count(cfg), max(cfg.epochs, teacher_epochs or 0), yes)
    _run(cfg, resume, quiet, yes)
