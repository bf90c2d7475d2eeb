"""`reglab report` through typer's CliRunner: output, files, and one red line for bad input."""

from __future__ import annotations

import sqlite3

import pytest
from typer.testing import CliRunner

from reglab.cli import app


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def store(tmp_path_factory, scripted):
    s = scripted
    path = tmp_path_factory.mktemp("cli-report") / "runs.sqlite"
    runs = [s.make_run("baseline", seed, acc) for seed, acc in enumerate([0.66, 0.67, 0.65])]
    runs += [s.make_run("dropout", seed, acc, "good", dropout=0.2)
             for seed, acc in enumerate([0.70, 0.71, 0.705])]
    s.write_store(path, runs, study="demo")
    return path


def test_report_writes_files_and_prints_the_table(store, tmp_path, monkeypatch):
    from reglab.cli.app import console

    monkeypatch.setattr(console, "_width", 160)  # a wide terminal: one line per table row
    result = CliRunner().invoke(app, ["report", "--store", str(store), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "reglab report: demo" in out
    row = next(line for line in out.splitlines() if line.startswith("│ dropout"))
    assert [c.strip() for c in row.strip("│ ").split("│")] == [
        "dropout", "dropout=0.2", "3", "88.1 ± 0.2", "70.5 ± 1.2", "1.9 ± 0.2",
        "+4.5 [+2.3, +6.7]", "0.012", "3 good fit"]
    assert flat(out).count("The best arm, chosen on validation accuracy (88.1% vs the "
                           "baseline's 58.1%), is dropout (dropout=0.2): test accuracy 70.5%") == 1
    assert f"Report: {tmp_path / 'report.html'}  (3 figures)" in out
    assert f"        {tmp_path / 'report.md'}" in out
    html = (tmp_path / "report.html").read_text()
    for fig in ("fig-learning-curves", "fig-gap", "fig-dropout-ablation"):
        assert f'<figure id="{fig}">' in html


def test_report_defaults_to_the_store_directory(store):
    result = CliRunner().invoke(app, ["report", "--store", str(store), "--title", "My study"])
    assert result.exit_code == 0, result.output
    assert (store.parent / "report.html").read_text().count("<title>My study</title>") == 1


def run_error(args):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.output
    return result.stderr


def test_missing_store(tmp_path):
    path = tmp_path / "runs.sqlite"
    assert run_error(["report", "--store", str(path)]) == (
        f"Error: Run store '{path}' not found. Expected the runs.sqlite file written by `reglab "
        "study` or `reglab sweep`. Received: a path that does not exist\n")
    assert not path.exists()


def test_corrupt_store(tmp_path):
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"this is not a database, just some bytes" * 50)
    assert run_error(["report", "--store", str(path)]) == (
        f"Error: The run store '{path}' is corrupt or not a SQLite file (file is not a database). "
        "Expected a reglab run store; move it away or choose another --out directory.\n")


def test_foreign_store(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
    assert run_error(["report", "--store", str(path)]) == (
        f"Error: The file '{path}' is not a reglab run store (SQLite application_id 0x0, expected "
        "0x52474c42). Move it away or choose another --out directory.\n")


def test_empty_file_and_directory(tmp_path):
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"")
    assert run_error(["report", "--store", str(path)]) == (
        f"Error: Run store '{path}' is empty. Expected the runs.sqlite file written by `reglab "
        "study` or `reglab sweep`. Received: a 0-byte file\n")
    assert run_error(["report", "--store", str(tmp_path)]) == (
        f"Error: Run store '{tmp_path}' is not a file. Expected the runs.sqlite file written by "
        "`reglab study` or `reglab sweep`. Received: a directory\n")


def test_unknown_study(store):
    assert run_error(["report", "--store", str(store), "--study", "nope"]) == (
        "Error: Invalid value for argument `study`. Expected one of 'demo'. Received: "
        "study='nope'\n")


def test_unknown_baseline(store, tmp_path):
    assert run_error(["report", "--store", str(store), "--out", str(tmp_path), "--baseline",
                      "control"]) == (
        "Error: Invalid value for argument `baseline`. Expected one of 'baseline', 'dropout'. "
        "Received: baseline='control'\n")


def test_terminal_markdown_and_html_show_the_same_numbers(store, tmp_path, monkeypatch):
    """One computation, three renderings: parse each table back into cells and compare."""
    import html as html_lib
    import re

    from reglab.cli.app import console

    monkeypatch.setattr(console, "_width", 200)
    result = CliRunner().invoke(app, ["report", "--store", str(store), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    terminal = [[c.strip() for c in line.strip("│ ").split("│")]
                for line in result.stdout.splitlines()
                if line.startswith("│ baseline") or line.startswith("│ dropout")]
    md = (tmp_path / "report.md").read_text()
    markdown = [[c.strip().replace("\\|", "|") for c in line.strip("| ").split(" | ")]
                for line in md.splitlines() if line.startswith(("| baseline", "| dropout"))]
    page = (tmp_path / "report.html").read_text()
    body = re.search(r'<table id="summary-table">.*?<tbody>(.*?)</tbody>', page).group(1)
    html_rows = [[html_lib.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr)]
                 for tr in re.findall(r"<tr>(.*?)</tr>", body)]
    assert terminal == markdown == html_rows
    assert terminal[1][3:8] == ["88.1 ± 0.2", "70.5 ± 1.2", "1.9 ± 0.2", "+4.5 [+2.3, +6.7]",
                                "0.012"]
