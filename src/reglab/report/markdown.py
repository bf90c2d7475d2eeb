"""The Markdown summary written beside the HTML report (figures as PNG files in ``figures/``)."""

from __future__ import annotations

from collections.abc import Sequence

from reglab.analysis.effects import ArmSummary
from reglab.report.figures import FigureSpec
from reglab.report.table import caption, markdown_table

__all__ = ["render_markdown"]


def render_markdown(
    title: str,
    summaries: Sequence[ArmSummary],
    figures: Sequence[FigureSpec],
    found: str,
    *,
    figure_dir: str = "figures",
    notes: Sequence[str] = (),
    setup: str = "",
) -> str:
    """The report as Markdown: findings, the summary table, figures (linked PNGs), diagnoses."""
    n_runs = sum(s.n for s in summaries)
    lines = [f"# {title}", "", f"{len(summaries)} arms, {n_runs} runs. {setup}".rstrip(), "", "## What we found", "",
             found, "", "## Summary", "", markdown_table(summaries),
             caption(summaries),
             ""]
    if figures:
        lines += ["## Figures", ""]
        for fig in figures:
            lines += [f"### {fig.title}", "", f"![{fig.alt}]({figure_dir}/{fig.id}.png)", "",
                      fig.caption, ""]
    for note in notes:
        lines += [f"- {note}"]
    if notes:
        lines.append("")
    lines += ["## Diagnosis of each run", ""]
    for s in summaries:
        for r in s.runs:
            sentence = r.diagnosis.get("sentence", "no diagnosis (no validation curve)")
            lines.append(f"- **{s.arm}**, seed {r.seed}: {sentence}")
    return "\n".join(lines).rstrip() + "\n"
