"""Turn a Report into a file finance can open: xlsx, one self-contained html, csv or json.

``write_report`` decides where the bytes go: ``--output`` may name a file or a folder (the
report's own name is used inside a folder); no ``--output`` prints text formats to stdout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from sync.errors import ConfigurationError
from sync.tables.model import Lang, Report

__all__ = ["FORMATS", "Format", "render", "write_report"]

Format = Literal["xlsx", "html", "csv", "json"]
FORMATS: tuple[Format, ...] = ("xlsx", "html", "csv", "json")


def render(report: Report, fmt: Format, lang: Lang = "zh") -> dict[str, bytes]:
    """File suffix -> content. csv gives one entry per table (``.<table>.csv``), others one."""
    if fmt == "xlsx":
        from sync.tables.xlsx import to_xlsx

        return {".xlsx": to_xlsx(report, lang)}
    if fmt == "html":
        from sync.tables.html import to_html

        return {".html": to_html(report, lang).encode("utf-8")}
    if fmt == "json":
        from sync.tables.jsonfmt import to_json

        return {".json": to_json(report, lang).encode("utf-8")}
    from sync.tables.csvfmt import to_csv

    return {f".{t.name}.csv": to_csv(t, lang).encode("utf-8-sig") for t in report.tables}


def write_report(report: Report, fmt: Format, lang: Lang, output: Path) -> list[Path]:
    """Write the report under ``output`` (a folder, or a file path) and return the files written.

    A path with a suffix is a file; anything else is a folder, created when missing. csv
    writes one file per table beside each other, named ``<stem>.<table>.csv``.
    """
    parts = render(report, fmt, lang)
    if output.suffix and not output.is_dir():
        folder, stem = output.parent, output.name[: -len(output.suffix)]
    else:
        folder, stem = output, report.name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for suffix, content in parts.items():
            target = folder / f"{stem}{suffix}"
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_bytes(content)
            tmp.replace(target)
            written.append(target)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write the report to {output}: {exc.strerror}",
            hint="choose a folder you can write to with --output",
        ) from None
    return written
