"""The summary table: exact cell strings, the rich Table the terminal shows, formatting rules."""

from __future__ import annotations

import math

from rich.console import Console

from reglab.analysis import summarize_arms
from reglab.report.table import (
    CAPTION,
    COLUMNS,
    SummaryTable,
    caption,
    fmt_mean_ci,
    markdown_table,
    rich_table,
    table_rows,
)


def test_rows_for_the_scripted_study(study_runs):
    rows = table_rows(summarize_arms(study_runs))
    assert rows == [
        ["baseline", "none", "3", "58.1 ± 0.2", "66.0 ± 2.5", "41.9 ± 0.2", "reference", "-",
         "3 overfitting"],
        ["dropout=0.1", "dropout=0.1", "3", "58.1 ± 0.2", "68.0 ± 2.5", "41.9 ± 0.2",
         "+2.0 [+2.0, +2.0]", "<0.001", "3 overfitting"],
        ["dropout=0.3", "dropout=0.3", "3", "88.1 ± 0.2", "70.5 ± 1.2", "1.9 ± 0.2",
         "+4.5 [+2.3, +6.7]", "0.048", "3 good fit"],
        ["weight_decay=0.01", "weight_decay=0.01", "3", "58.1 ± 0.2", "66.8 ± 1.0", "41.9 ± 0.2",
         "+0.8 [-1.4, +3.0]", "0.506", "3 overfitting"],
        ["weight_decay=0.1", "weight_decay=0.1", "3", "88.1 ± 0.2", "69.4 ± 1.0", "1.9 ± 0.2",
         "+3.4 [+1.2, +5.6]", "0.064", "3 good fit"],
        ["l1=0.0001", "l1=0.0001", "3", "58.1 ± 0.2", "66.1 ± 0.9", "41.9 ± 0.2",
         "+0.1 [-3.0, +3.1]", "0.934", "3 overfitting"],
    ]


def test_rich_table_holds_the_same_cells_and_colors_significant_effects(study_runs):
    summaries = summarize_arms(study_runs)
    table = rich_table(summaries, title="demo")
    # every setting equals its arm name here, so the Setting column is left out
    assert [c.header for c in table.columns] == [c for c in COLUMNS if c != "Setting"]
    assert table.title == "demo" and table.row_count == 6 and table.caption == caption(summaries)
    assert caption(summaries) == CAPTION + (
        " p: two-sided, Holm-adjusted across the 5 arms compared with the baseline; colored when "
        "below 0.05.")
    effects = list(table.columns[5].cells)
    # colored when the Holm-adjusted p is below 0.05 (weight_decay=0.1: 0.064, not colored)
    assert effects == ["reference", "[green]+2.0 [+2.0, +2.0][/green]",
                       "[green]+4.5 [+2.3, +6.7][/green]", "+0.8 [-1.4, +3.0]",
                       "+3.4 [+1.2, +5.6]", "+0.1 [-3.0, +3.1]"]
    console = Console(width=200, record=True, color_system=None)
    console.print(table)
    text = console.export_text()
    lines = [line for line in text.splitlines() if "dropout=0.3" in line]
    assert len(lines) == 1
    cells = [c.strip() for c in lines[0].strip("│ ").split("│")]
    assert cells == ["dropout=0.3", "3", "88.1 ± 0.2", "70.5 ± 1.2", "1.9 ± 0.2",
                     "+4.5 [+2.3, +6.7]", "0.048", "3 good fit"]


def test_rich_table_shows_settings_that_differ_from_arm_names(scripted):
    runs = [scripted.make_run("baseline", 0, 0.6), scripted.make_run("dropout", 0, 0.7, dropout=0.2)]
    table = rich_table(summarize_arms(runs))
    assert [c.header for c in table.columns] == list(COLUMNS)
    assert list(table.columns[1].cells) == ["none", "dropout=0.2"]


def _render(renderable, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text().splitlines()


def test_terminal_table_is_the_full_table_when_it_fits(scripted):
    runs = [scripted.make_run("baseline", 0, 0.6), scripted.make_run("dropout", 0, 0.7, dropout=0.2)]
    summaries = summarize_arms(runs)
    assert _render(SummaryTable(summaries, "demo"), 200) == _render(rich_table(summaries, "demo"), 200)


def test_terminal_table_on_80_columns_keeps_arm_names_whole_and_lists_settings(scripted):
    runs = [scripted.make_run("baseline", s, 0.6) for s in range(3)]
    runs += [scripted.make_run("stack", s, 0.7, dropout=0.2, weight_decay=0.05, label_smoothing=0.1)
             for s in range(3)]
    lines = _render(SummaryTable(summarize_arms(runs), "demo"), 80)
    assert max(len(line) for line in lines) <= 80
    assert lines[0].strip() == "demo (3 seeds per arm)"
    assert lines[1].split()[:9] == ["Arm", "Val", "acc", "%", "Test", "acc", "%", "Gap,", "pts"]
    assert lines[3].split()[:4] == ["baseline", "58.1", "60.0", "41.9"]  # the means, half-widths under them
    assert lines[4].split()[0:6:2] == ["±", "±", "±"]
    stack = next(i for i, line in enumerate(lines) if line.startswith("stack "))
    assert lines[stack + 1].split()[6].startswith("[")  # under the half-widths: the effect's interval
    settings = lines.index("Settings:")
    assert [line.split() for line in lines[settings + 1:]] == [
        ["stack:", "dropout=0.2,", "weight_decay=0.05,", "label_smoothing=0.1"]]


def test_markdown_table_escapes_pipes_and_aligns_numbers(study_runs):
    md = markdown_table(summarize_arms(study_runs)[:1])
    assert md.splitlines()[1] == "|---|---|---:|---:|---:|---:|---:|---:|---|"
    assert md.splitlines()[2] == (
        "| baseline | none | 3 | 58.1 ± 0.2 | 66.0 ± 2.5 | 41.9 ± 0.2 | reference | - | 3 overfitting |")


def test_fmt_mean_ci_edge_cases():
    assert fmt_mean_ci((0.5, math.nan, math.nan)) == "50.0 (no CI, 1 seed)"
    assert fmt_mean_ci((math.nan, math.nan, math.nan)) == "n/a"
    assert fmt_mean_ci((0.5, 0.5, 0.5)) == "50.0 ± 0.0"


def test_setup_text_lists_common_settings_and_what_varies(scripted):
    from reglab.report.findings import setup_text

    a = scripted.make_run("baseline", 0, 0.6)
    b = scripted.make_run("dropout", 1, 0.7, dropout=0.2)
    b.spec = b.spec.model_copy(update={
        "epochs": 50,
        "data": b.spec.data.model_copy(update={"train_size": 1000}),
        "model": a.spec.model.model_copy(update={"options": {"width": 64}})})
    assert setup_text(summarize_arms([a, b])) == (
        "Data varies; model varies; adamw lr 0.01; epochs vary, batch 100; seeds 0, 1.")
    b.spec = b.spec.model_copy(update={"epochs": 30})
    a.spec = a.spec.model_copy(update={"data": b.spec.data, "model": b.spec.model})
    assert setup_text(summarize_arms([a, b])) == (
        "Data mnist1d (train_size=1000); model mlp (width=64); adamw lr 0.01; 30 epochs, batch "
        "100; seeds 0, 1.")


def test_sweep_arms_that_spell_out_their_setting_get_no_setting_column(scripted):
    runs = [scripted.make_run(f"dropout={p},weight_decay=0", 0, 0.6, dropout=p) for p in (0.0, 0.3)]
    summaries = summarize_arms(runs)
    assert [row[1] for row in table_rows(summaries)] == ["none", "dropout=0.3"]
    assert [c.header for c in rich_table(summaries).columns] == [c for c in COLUMNS if c != "Setting"]
    assert "Settings:" not in _render(SummaryTable(summaries), 60)
