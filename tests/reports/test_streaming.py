"""A month of vouchers is written as it is made: the voucher lines are read again from the
outbox a chunk at a time while a renderer writes them, html stops at its limit with a note
that says where the rest are, and a report that fails half way leaves no half file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from sync.errors import StateError
from sync.model import Voucher
from sync.reports.items import ListedOutbox, VoucherItem
from sync.reports.vouchers import VoucherLines, outbox_report, read_outbox, voucher_report
from sync.tables.files import render, write_report
from sync.tables.jsonfmt import to_json
from tests.reports.vgen import outbox


class CountingOutbox(ListedOutbox):
    """The in-memory outbox, counting how often (and for how many) the report asks for vouchers."""

    def __init__(self, items: Sequence[VoucherItem]) -> None:
        super().__init__(items)
        self.asked: list[int] = []

    def vouchers(self, seqs: Sequence[int]) -> Mapping[int, Voucher]:
        self.asked.append(len(seqs))
        return super().vouchers(seqs)


def _lines(items: list[VoucherItem]) -> int:
    return sum(len(i.voucher.lines) for i in items)


def test_building_the_report_reads_no_voucher_again_and_writing_it_reads_them_a_chunk_at_a_time() -> None:
    items, quarantined = outbox(5, n=1_200)
    source = CountingOutbox(items)
    report = outbox_report(source, read_outbox(source), quarantined, period="2026-11")
    assert source.asked == []
    assert len(report.table("vouchers").rows) == _lines(items)
    content = render(report, "csv", "zh")[".vouchers.csv"]
    assert source.asked == [VoucherLines.CHUNK, VoucherLines.CHUNK, 1_200 - 2 * VoucherLines.CHUNK]
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert len(rows) == 1 + _lines(items)


def test_html_shows_the_first_lines_and_says_the_xlsx_and_csv_hold_them_all() -> None:
    items, quarantined = outbox(8, n=200)
    report = voucher_report(items, quarantined, period="2026-11", html_lines=50)
    page = render(report, "html", "en")[".html"].decode()
    vouchers = page[page.index('<section id="vouchers"') :]
    assert vouchers.count("<tr>") == 1 + 50  # the header and 50 lines
    assert f"first 50 of {_lines(items):,} rows" in vouchers
    assert "--format xlsx" in vouchers and "--format csv" in vouchers
    # everything else in full: the failures and the differences are never cut
    failures = sum(1 for i in items if i.status == "failed") + len(quarantined)
    section = page[page.index('<section id="failures"') : page.index('<section id="vouchers"')]
    assert section.count("<tr>") == 1 + failures
    csv_rows = render(report, "csv", "en")[".vouchers.csv"].decode("utf-8-sig").count("\r\n")
    assert csv_rows == 1 + _lines(items)


def test_a_page_under_the_limit_has_no_note() -> None:
    items, quarantined = outbox(8, n=20)
    page = render(voucher_report(items, quarantined, period="2026-11"), "html", "zh")[".html"].decode()
    assert 'class="cut"' not in page


def test_the_streamed_json_is_the_indented_document_json_itself_writes() -> None:
    items, quarantined = outbox(3, n=30)
    text = to_json(voucher_report(items, quarantined, period="2026-11"))
    assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n"


def test_voucher_lines_index_like_a_sequence() -> None:
    items, quarantined = outbox(2, n=10)
    rows = voucher_report(items, quarantined, period="2026-11").table("vouchers").rows
    every = list(rows)
    assert rows[0] == every[0] and rows[-1] == every[-1] and rows[2:4] == every[2:4]
    with pytest.raises(IndexError):
        rows[len(every)]


class VanishingOutbox(ListedOutbox):
    """An outbox whose rows are gone by the time their lines are written."""

    def vouchers(self, seqs: Sequence[int]) -> Mapping[int, Voucher]:
        return {}


def test_a_report_that_fails_while_written_leaves_no_file_behind(tmp_path: Path) -> None:
    items, quarantined = outbox(4, n=30)
    source = VanishingOutbox(items)
    report = outbox_report(source, read_outbox(source), quarantined, period="2026-11")
    with pytest.raises(StateError, match="went away while the report was written"):
        write_report(report, "xlsx", "zh", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
