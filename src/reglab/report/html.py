"""The self-contained HTML report: inline CSS, figures as base64 PNG data URIs, no external URL."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

from reglab.analysis.effects import ArmSummary
from reglab.report.figures import FigureSpec
from reglab.report.table import caption, html_table

__all__ = ["render_html"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em;margin:1em 0}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.num{text-align:right;white-space:nowrap}td.better{color:#137a13;font-weight:600}td.worse{color:#b01c1c;font-weight:600}
figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#555}.findings{background:#f7f9fc;border-left:4px solid #4a78c2;
padding:.6em 1em}.muted{color:#666;font-size:.9em}
"""


def render_html(
    title: str,
    summaries: Sequence[ArmSummary],
    figures: Sequence[FigureSpec],
    found: str,
    *,
    notes: Sequence[str] = (),
    setup: str = "",
) -> str:
    """One HTML page holding everything (figures embedded as ``data:image/png;base64``)."""
    esc = html.escape
    n_runs = sum(s.n for s in summaries)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="muted" id="setup">{len(summaries)} arms, {n_runs} runs. {esc(setup)}</p>',
        '<h2>What we found</h2>',
        f'<p class="findings" id="findings">{esc(found)}</p>',
        "<h2>Summary</h2>",
        html_table(summaries),
        f'<p class="muted">{esc(caption(summaries))}</p>',
    ]
    if figures:
        parts.append("<h2>Figures</h2>")
    for fig in figures:
        data = base64.b64encode(fig.png).decode("ascii")
        parts.append(
            f'<figure id="{esc(fig.id)}"><h3>{esc(fig.title)}</h3>'
            f'<img alt="{esc(fig.alt)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(fig.caption)}</figcaption></figure>"
        )
    if notes:
        parts.append('<ul class="muted">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    rows = []
    for s in summaries:
        for r in s.runs:
            rows.append(
                f"<tr><td>{esc(s.arm)}</td><td>{r.seed}</td>"
                f"<td>{esc(str(r.diagnosis.get('verdict', 'n/a')))}</td>"
                f"<td>{esc(str(r.diagnosis.get('sentence', 'no diagnosis (no validation curve)')))}"
                "</td></tr>"
            )
    parts += [
        "<h2>Diagnosis of each run</h2>",
        '<table id="diagnoses"><thead><tr><th>Arm</th><th>Seed</th><th>Verdict</th>'
        f"<th>Diagnosis</th></tr></thead><tbody>{''.join(rows)}</tbody></table>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
