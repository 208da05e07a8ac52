"""html: ONE self-contained file (inline CSS, no script, no external fonts or images), so it
can be mailed, archived and opened offline. Every text is escaped; links are kept only when
they are http(s), so a CRM value can never become script."""

from __future__ import annotations

import html
import io
import re
from itertools import islice
from typing import TextIO

from sync.tables.cells import pretty
from sync.tables.model import Cell, Column, Kind, Lang, Report, Table

__all__ = ["to_html", "write_html"]

_SAFE_LINK = re.compile(r"^https?://", re.IGNORECASE)
_NARROW = 6

_CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#d9e2ec; --head:#eef3f8; --bad:#b42318; --ok:#1a7f37; }
* { box-sizing: border-box; }
body { font-family: "PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC",
       "Helvetica Neue",Arial,sans-serif; color: var(--ink); margin: 24px 32px; font-size: 13px; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 16px; margin: 28px 0 4px; border-left: 4px solid #3e7cb1; padding-left: 8px; }
p.note { color: var(--muted); margin: 2px 0 8px; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 0 0 12px; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
nav a { margin-right: 14px; color: #3e7cb1; text-decoration: none; }
table { border-collapse: collapse; margin: 4px 0 8px; min-width: 40%; }
th, td { border: 1px solid var(--line); padding: 4px 8px; vertical-align: top; }
td { max-width: 26em; overflow-wrap: anywhere; }
td.k-key, td.k-record_id { font-family: ui-monospace,Menlo,Consolas,monospace;
  font-size: 11px; color: #52606d; }
th { background: var(--head); position: sticky; top: 0; text-align: center; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.neg { color: var(--bad); }
tr.total td { font-weight: bold; background: #f7f9fb; }
tr:nth-child(even) td { background: #fbfcfd; }
td.status-posted, td.status-reversed { color: var(--ok); }
td.status-failed, td.status-quarantined { color: var(--bad); }
.empty { color: var(--muted); font-style: italic; }
p.cut { background: #fff8e6; border-left: 4px solid #d69e2e; padding: 6px 10px; margin: 6px 0; }
main { display: flex; flex-wrap: wrap; gap: 0 36px; align-items: flex-start; }
main > section.wide { flex-basis: 100%; }
@media print { body { margin: 0; } th { position: static; } }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _cell(value: Cell, column: Column) -> str:
    text = pretty(value, column.kind)
    classes = []
    if column.kind in (Kind.MONEY, Kind.INT):
        classes.append("num")
        if text.startswith("-"):
            classes.append("neg")
    if column.key in ("key", "record_id"):
        classes.append(f"k-{column.key}")
    if column.key == "status" and text:
        word = next((w for w in ("posted", "reversed", "failed", "quarantined") if w in text), "")
        if word:
            classes.append(f"status-{word}")
    attr = f' class="{" ".join(classes)}"' if classes else ""
    if column.kind is Kind.LINK and text:
        if _SAFE_LINK.match(text):
            return f'<td{attr}><a href="{_e(text)}" rel="noopener noreferrer">{_e("↗")}</a></td>'
        return f"<td{attr}></td>"
    return f"<td{attr}>{_e(text)}</td>"


def _write_table(table: Table, lang: Lang, out: TextIO) -> None:
    # narrow tables (control totals) sit side by side on a wide screen; wide ones take a row
    width = "narrow" if len(table.columns) <= _NARROW else "wide"
    out.write(f'<section id="{_e(table.name)}" class="{width}"><h2>{_e(table.title(lang))}</h2>')
    if table.note(lang):
        out.write(f'<p class="note">{_e(table.note(lang))}</p>')
    count = len(table.rows)
    if not count:
        out.write(f'<p class="empty">{"无" if lang == "zh" else "none"}</p></section>')
        return
    shown = min(count, table.html_limit) if table.html_limit else count
    if shown < count:
        out.write(f'<p class="cut">{_e(_cut_note(shown, count, lang))}</p>')
    out.write("<table><thead><tr>")
    out.write("".join(f"<th>{_e(c.title(lang))}</th>" for c in table.columns))
    out.write("</tr></thead><tbody>")
    for row in islice(table.rows, shown):
        out.write("<tr>" + "".join(_cell(v, c) for v, c in zip(row, table.columns, strict=True)) + "</tr>")
    if table.totals:
        cells = "".join(_cell(v, c) for v, c in zip(table.totals, table.columns, strict=True))
        out.write(f'<tr class="total">{cells}</tr>')
    out.write("</tbody></table>")
    if shown < count:
        out.write(f'<p class="cut">{_e(_cut_note(shown, count, lang))}</p>')
    out.write("</section>")


def _cut_note(shown: int, count: int, lang: Lang) -> str:
    if lang == "zh":
        return (
            f"本页仅显示前 {shown:,} 行，共 {count:,} 行。全部行见同一报表的 xlsx 或 csv"
            "（crmsync report … --format xlsx 或 --format csv）。"
        )
    return (
        f"This page shows the first {shown:,} of {count:,} rows. The xlsx or csv of the same "
        "report holds them all (crmsync report … --format xlsx or --format csv)."
    )


def write_html(report: Report, out: TextIO, lang: Lang = "zh") -> None:
    """The page, a table at a time: summary and totals first, then each table (cut at its
    ``html_limit`` with a note)."""
    title = report.title(lang)
    generated = "生成时间" if lang == "zh" else "Generated"
    facts = "".join(
        f"<dt>{_e(zh if lang == 'zh' else en)}</dt><dd>{_e(v)}</dd>" for zh, en, v in report.facts
    )
    facts += f"<dt>{generated}</dt><dd>{_e(report.generated_at.isoformat(timespec='seconds'))}</dd>"
    nav = "".join(f'<a href="#{_e(t.name)}">{_e(t.title(lang))}</a>' for t in report.tables)
    out.write(
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{_e(title)}</h1><dl class="facts">{facts}</dl><nav>{nav}</nav><main>'
    )
    for table in report.tables:
        _write_table(table, lang, out)
    out.write("</main></body></html>\n")


def to_html(report: Report, lang: Lang = "zh") -> str:
    out = io.StringIO()
    write_html(report, out, lang)
    return out.getvalue()
