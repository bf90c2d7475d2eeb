"""The summary table: one row per arm, as plain strings, a rich Table, Markdown and HTML.

Columns: arm, setting, seeds, validation and test accuracy side by side (mean +- 95% CI
half-width, in %; choose on validation), train-val gap of the final weights (mean +- half-width,
in accuracy points), effect on test accuracy vs the baseline (points, paired by seed with its
95% interval, Welch where seeds differ), its Holm-adjusted p-value, and the per-run verdicts.
Regression studies (no accuracy) show the validation and test RMSE (original scale), the test
log-likelihood and the effect on the RMSE instead (:data:`RMSE_COLUMNS`; :data:`LOSS_COLUMNS` for
runs stored without an RMSE). The terminal, Markdown and HTML renderings all print the cells of
:func:`table_rows` (one computation). With one
seed an interval is undefined and the cell says so instead of printing a number.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

from reglab.analysis.effects import ArmSummary

__all__ = ["COLUMNS", "LOSS_COLUMNS", "RMSE_COLUMNS", "CAPTION", "LOSS_CAPTION", "RMSE_CAPTION", "columns",
           "caption", "table_rows", "rich_table", "SummaryTable", "markdown_table", "html_table", "fmt_mean_ci",
           "fmt_loss_ci", "fmt_effect", "fmt_p"]

COLUMNS = (
    "Arm",
    "Setting",
    "Seeds",
    "Val acc %",
    "Test acc %",
    "Gap, pts",
    "Effect, pts",
    "p",
    "Verdicts",
)
#: The headers when the metric is the loss (regression: no accuracy).
LOSS_COLUMNS = (
    "Arm",
    "Setting",
    "Seeds",
    "Val loss",
    "Test loss",
    "Gap (val - train loss)",
    "Effect (loss)",
    "p",
    "Verdicts",
)
#: The headers of a regression study (accuracy columns replaced by RMSE and log-likelihood).
RMSE_COLUMNS = (
    "Arm",
    "Setting",
    "Seeds",
    "Val RMSE",
    "Test RMSE",
    "Test log-lik.",
    "Effect (RMSE)",
    "p",
    "Verdicts",
)
#: Column positions shared by the headers (a regression study's GAP column holds the log-likelihood).
VAL, TEST, GAP, EFFECT, P, VERDICTS = 3, 4, 5, 6, 7, 8
_NUMERIC = range(2, 8)
#: What the ± and the brackets mean; printed under every rendering of the table.
CAPTION = ("Val acc, test acc and train-val gap (final weights, eval mode): mean ± half-width of "
           "the 95% Student t interval over seeds. Choose on Val acc; Test acc is read once. "
           "Effect: test accuracy minus the baseline's, paired by seed [95% paired t interval; "
           "Welch where seeds differ]; pts = percentage points.")
LOSS_CAPTION = ("Val loss, test loss and val-train loss gap (final weights, eval mode): mean ± "
                "half-width of the 95% Student t interval over seeds. Choose on Val loss; Test "
                "loss is read once. Effect: test loss minus the baseline's, paired by seed [95% "
                "paired t interval; Welch where seeds differ]; lower is better.")
RMSE_CAPTION = ("Val and test RMSE (original units of the target) and test log-likelihood (nats per "
                "example, Gaussian): mean ± half-width of the 95% Student t interval over seeds. "
                "Choose on Val RMSE; Test RMSE is read once. Effect: test RMSE minus the baseline's, "
                "paired by seed [95% paired t interval; Welch where seeds differ]; lower RMSE is "
                "better, so a negative effect is an improvement.")


def _metric(summaries: Sequence[ArmSummary]) -> str:
    return summaries[0].metric if summaries else "accuracy"


def columns(summaries: Sequence[ArmSummary]) -> tuple[str, ...]:
    """:data:`COLUMNS`, or :data:`LOSS_COLUMNS` when the summaries compare losses."""
    return {"accuracy": COLUMNS, "rmse": RMSE_COLUMNS}.get(_metric(summaries), LOSS_COLUMNS)


def caption(summaries: Sequence[ArmSummary]) -> str:
    """What the cells mean, and how the p column was adjusted (Holm when several arms are
    compared with the baseline)."""
    text = {"accuracy": CAPTION, "rmse": RMSE_CAPTION}.get(_metric(summaries), LOSS_CAPTION)
    m = sum(1 for s in summaries if not math.isnan(s.p_value))
    if m > 1:
        text += (f" p: two-sided, Holm-adjusted across the {m} arms compared with the baseline; "
                 "colored when below 0.05.")
    elif m == 1:
        text += " p: two-sided (one comparison, no adjustment needed); colored when below 0.05."
    return text


def fmt_p(s: ArmSummary) -> str:
    """The (Holm-adjusted) p-value: ``"0.012"``, ``"<0.001"``; ``"-"`` without a test."""
    if s.is_baseline or math.isnan(s.p_holm):
        return "-"
    return "<0.001" if s.p_holm < 0.001 else f"{s.p_holm:.3f}"


def fmt_mean_ci(stat: tuple[float, float, float], scale: float = 100.0, digits: int = 1) -> str:
    """``"66.6 ± 1.2"``; ``"66.6 (no CI, 1 seed)"`` when the interval is undefined."""
    mean, low, high = stat
    if math.isnan(mean):
        return "n/a"
    if math.isnan(low):
        return f"{scale * mean:.{digits}f} (no CI, 1 seed)"
    return f"{scale * mean:.{digits}f} ± {scale * (high - mean):.{digits}f}"


def fmt_loss_ci(stat: tuple[float, float, float]) -> str:
    """A loss: ``"0.145 ± 0.012"`` (3 and 2 significant digits)."""
    mean, low, high = stat
    if math.isnan(mean):
        return "n/a"
    if math.isnan(low):
        return f"{mean:.3g} (no CI, 1 seed)"
    return f"{mean:.3g} ± {high - mean:.2g}"


def fmt_effect(s: ArmSummary, scale: float = 100.0) -> str:
    """``"+3.2 [+1.4, +5.0]"``; ``"reference"`` for the baseline; ``"n/a"`` without one.
    Losses (regression) are shown unscaled with 2 significant digits."""
    if s.is_baseline:
        return "reference"
    if s.effect is None:
        return "n/a (no baseline)"
    d, low, high = s.effect
    if s.metric != "accuracy":
        if math.isnan(low):
            return f"{d:+.2g} (no CI, 1 seed)"
        return f"{d:+.2g} [{low:+.2g}, {high:+.2g}]"
    if math.isnan(low):
        return f"{scale * d:+.1f} (no CI, 1 seed)"
    return f"{scale * d:+.1f} [{scale * low:+.1f}, {scale * high:+.1f}]"


def table_rows(summaries: Sequence[ArmSummary]) -> list[list[str]]:
    """One list of cell strings per arm, in :func:`columns` order."""
    rows = []
    for s in summaries:
        if s.metric == "accuracy":
            val, test, gap = fmt_mean_ci(s.val), fmt_mean_ci(s.test), fmt_mean_ci(s.gap)
        elif s.metric == "rmse":
            val, test, gap = fmt_loss_ci(s.val), fmt_loss_ci(s.test), fmt_loss_ci(s.log_likelihood)
        else:
            val, test, gap = fmt_loss_ci(s.val), fmt_loss_ci(s.test), fmt_loss_ci(s.gap)
        rows.append([s.arm, s.setting, str(s.n), val, test, gap, fmt_effect(s), fmt_p(s), s.verdict_text()])
    return rows


def rich_table(summaries: Sequence[ArmSummary], title: str = "Summary") -> Any:
    """A ``rich.table.Table`` with the rows of :func:`table_rows`; effects whose interval
    excludes zero are green (better) or red (worse)."""
    from rich.markup import escape
    from rich.table import Table

    rows = table_rows(summaries)
    # The setting column only when it says more than the arm names.
    show_setting = any(_adds_to_arm(row[0], row[1]) for row in rows)
    table = Table(title=title, caption=caption(summaries))
    for i, col in enumerate(columns(summaries)):
        if i == 1 and not show_setting:
            continue
        table.add_column(col, justify="right" if i in _NUMERIC else "left",
                         style="bold" if i == 0 else None, no_wrap=2 <= i <= GAP,
                         overflow="fold" if i <= 1 else "ellipsis",
                         min_width={0: 8, EFFECT: 9, VERDICTS: 8}.get(i))
    for s, row in zip(summaries, rows):
        cells = [escape(c) for c in row]
        if s.significantly_better is not None:
            color = "green" if s.significantly_better else "red"
            cells[EFFECT] = f"[{color}]{cells[EFFECT]}[/{color}]"
        if not show_setting:
            del cells[1]
        table.add_row(*cells)
    return table


def _items(text: str) -> set[str]:
    """The comma-separated items of ``text`` outside parentheses, stripped."""
    items, depth, current = set(), 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            items.add(current.strip())
            current = ""
        else:
            current += ch
    items.add(current.strip())
    return items


def _adds_to_arm(arm: str, setting: str) -> bool:
    """Whether ``setting`` says more than the arm's name: not ``"none"`` and not already spelled
    out by it (a sweep arm ``dropout=0.3,weight_decay=0`` already says ``dropout=0.3``)."""
    return setting != "none" and not _items(setting) <= _items(arm)


class SummaryTable:
    """The summary for a terminal: :func:`rich_table` when it fits the console's width, else a
    compact table that never wraps an arm name, with the seed count in the title (when every arm
    has the same), each half-width under its mean, the effect's interval and p-value under its
    value, and each arm's setting listed below.

    Args:
        summaries: the arms, in display order.
        title: the table title. Defaults to ``"Summary"``.
    """

    def __init__(self, summaries: Sequence[ArmSummary], title: str = "Summary") -> None:
        self.summaries = list(summaries)
        self.title = title

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.measure import Measurement

        wide = rich_table(self.summaries, title=self.title)
        natural = Measurement.get(console, options.update(max_width=10**6), wide).maximum  # unwrapped width
        if natural <= options.max_width:
            yield wide
            return
        yield from self._compact()

    def _compact(self) -> Any:
        from rich import box
        from rich.markup import escape
        from rich.table import Table
        from rich.text import Text

        rows = table_rows(self.summaries)
        seeds = {row[2] for row in rows}
        n = seeds.pop() if len(seeds) == 1 else None
        title = self.title + (f" ({n} seed{'' if n == '1' else 's'} per arm)" if n is not None else "")
        table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        cols = columns(self.summaries)
        keep = [0] + ([2] if len(seeds) > 1 else []) + [VAL, TEST, GAP, EFFECT, VERDICTS]
        for i in keep:  # the p-value goes under the effect and its interval
            table.add_column(cols[i] + (" (p)" if i == EFFECT else ""),
                             justify="right" if i in _NUMERIC else "left",
                             style="bold" if i == 0 else None, no_wrap=i == 0,
                             overflow="fold", min_width={EFFECT: 13, VERDICTS: 11}.get(i))
        for s, row in zip(self.summaries, rows):
            effect = row[EFFECT].replace(" [", "\n[", 1) if "[" in row[EFFECT] else row[EFFECT]
            if row[P] != "-":
                effect += f"\n(p {row[P]})"
            cells = {i: escape(c) for i, c in enumerate(row)}
            for i in (VAL, TEST, GAP):  # the half-width goes under the mean
                cells[i] = cells[i].replace(" ± ", "\n± ", 1)
            cells[EFFECT] = "\n".join(escape(part) for part in effect.split("\n"))
            if s.significantly_better is not None:
                color = "green" if s.significantly_better else "red"
                cells[EFFECT] = f"[{color}]{cells[EFFECT]}[/{color}]"
            table.add_row(*(cells[i] for i in keep))
        yield table
        yield Text(caption(self.summaries))  # wrapped at the console's width, not the table's
        settings = [(row[0], row[1]) for row in rows if _adds_to_arm(row[0], row[1])]
        if settings:
            yield Text("Settings:", style="bold")
            grid = Table.grid(padding=(0, 1), pad_edge=True)
            grid.add_column(style="bold", no_wrap=True)
            grid.add_column(overflow="fold")
            for arm, setting in settings:
                grid.add_row(f" {escape(arm)}:", escape(setting))
            yield grid


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table(summaries: Sequence[ArmSummary]) -> str:
    cols = columns(summaries)
    lines = ["| " + " | ".join(cols) + " |",
             "|" + "|".join("---:" if i in _NUMERIC else "---" for i in range(len(cols))) + "|"]
    for row in table_rows(summaries):
        lines.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


def html_table(summaries: Sequence[ArmSummary]) -> str:
    head = "".join(f'<th{" class=num" if i in _NUMERIC else ""}>{html.escape(c)}</th>'
                   for i, c in enumerate(columns(summaries)))
    body = []
    for s, row in zip(summaries, table_rows(summaries)):
        classes = {i: ["num"] for i in _NUMERIC}
        if s.significantly_better is not None:
            classes[EFFECT].append("better" if s.significantly_better else "worse")
        cells = "".join(
            (f'<td class="{" ".join(classes[i])}">' if i in classes else "<td>")
            + f"{html.escape(c)}</td>" for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return (f'<table id="summary-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")
