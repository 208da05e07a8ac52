"""Turn a Report into a file finance can open: xlsx, one self-contained html, csv or json.

``write_report`` decides where the bytes go: ``--output`` may name a file or a folder (the
report's own name is used inside a folder); no ``--output`` prints text formats to stdout.
Every format is written as it is made (a row at a time into the file), so a month of
200,000 vouchers never sits in memory as one string.
"""

from __future__ import annotations

import errno
import io
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Literal

from sync.errors import ConfigurationError
from sync.tables.model import Lang, Report, Table

__all__ = ["FORMATS", "Format", "render", "stream_report", "write_report"]

Format = Literal["xlsx", "html", "csv", "json"]
FORMATS: tuple[Format, ...] = ("xlsx", "html", "csv", "json")

#: a part of a report's output: its file suffix and what writes it to a binary file
Part = tuple[str, Callable[[BinaryIO], None]]


def _text(write: Callable[[io.TextIOWrapper], None], encoding: str = "utf-8") -> Callable[[BinaryIO], None]:
    def to(out: BinaryIO) -> None:
        text = io.TextIOWrapper(out, encoding=encoding, newline="", write_through=False)
        try:
            write(text)
            text.flush()
        finally:
            text.detach()  # the caller owns the file

    return to


def parts(report: Report, fmt: Format, lang: Lang = "zh") -> list[Part]:
    """The files of ``report`` in ``fmt``: csv gives one per table (``.<table>.csv``), others one."""
    if fmt == "xlsx":
        from sync.tables.xlsx import write_xlsx

        return [(".xlsx", lambda out: write_xlsx(report, out, lang))]
    if fmt == "html":
        from sync.tables.html import write_html

        return [(".html", _text(lambda out: write_html(report, out, lang)))]
    if fmt == "json":
        from sync.tables.jsonfmt import write_json

        return [(".json", _text(lambda out: write_json(report, out, lang)))]
    from sync.tables.csvfmt import write_csv

    def csv_of(table: Table) -> Callable[[BinaryIO], None]:
        return _text(lambda out: write_csv(table, out, lang), "utf-8-sig")

    return [(f".{t.name}.csv", csv_of(t)) for t in report.tables]


def render(report: Report, fmt: Format, lang: Lang = "zh") -> dict[str, bytes]:
    """File suffix -> content, in memory (tests, small reports)."""
    rendered = {}
    for suffix, write in parts(report, fmt, lang):
        out = io.BytesIO()
        write(out)
        rendered[suffix] = out.getvalue()
    return rendered


def stream_report(report: Report, fmt: Format, lang: Lang, out: BinaryIO) -> None:
    """Every part of the report, one after the other, to ``out`` (stdout)."""
    for _, write in parts(report, fmt, lang):
        write(out)


def write_report(report: Report, fmt: Format, lang: Lang, output: Path) -> list[Path]:
    """Write the report under ``output`` (a folder, or a file path) and return the files written.

    A path with a suffix is a file; anything else is a folder, created when missing. csv
    writes one file per table beside each other, named ``<stem>.<table>.csv``. Each file is
    written beside its target and renamed over it when complete: a reader never opens half
    a report.
    """
    if output.suffix and not output.is_dir():
        folder, stem = output.parent, output.name[: -len(output.suffix)]
    else:
        folder, stem = output, report.name
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for suffix, write in parts(report, fmt, lang):
            target = folder / f"{stem}{suffix}"
            tmp = target.with_name(target.name + ".tmp")
            try:
                with tmp.open("wb") as out:
                    write(out)
                tmp.replace(target)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            written.append(target)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write the report to {output}: {exc.strerror or exc}",
            hint="choose a folder you can write to with --output"
            + (" (the disk is full)" if exc.errno == errno.ENOSPC else ""),
        ) from None
    return written
