"""Where the reports' inputs come from: the CRM source named in config.yaml, and the state store.

This is glue at the level of the CLI (it uses the engine's builders and the state store);
the report builders themselves stay pure functions of the values read here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from pydantic import ValidationError

from sync.config import AppConfig
from sync.config.sections import load_section
from sync.crm import CrmBook, read_book
from sync.crm.book import ACCOUNT_STREAM, ALLOCATION_STREAM, ORDER_STREAM, PAYMENT_STREAM, REFUND_STREAM
from sync.crm.source import crm_source_name as shared_crm_source_name
from sync.dates import CHINA
from sync.errors import ConfigurationError
from sync.model import Voucher
from sync.reports.config import ReportsConfig
from sync.reports.vouchers import QuarantinedItem, VoucherItem
from sync.state.outbox import OutboxRow
from sync.state.quarantine import QuarantineEntry

__all__ = ["StoredOutbox", "crm_book", "open_outbox", "reminders_log_path", "reports_config"]

log = logging.getLogger("crmsync.reports")
CRM_STREAMS = (ACCOUNT_STREAM, ORDER_STREAM, PAYMENT_STREAM, ALLOCATION_STREAM, REFUND_STREAM)


def reports_config(config: AppConfig) -> ReportsConfig:
    rc: ReportsConfig = load_section(ReportsConfig, config.reports, "reports", config.config_path)
    return rc


def crm_source_name(config: AppConfig, rc: ReportsConfig) -> str:
    return shared_crm_source_name(config, rc.crm_source, "reports", "for the collection reports")


def crm_book(config: AppConfig, rc: ReportsConfig) -> tuple[CrmBook, str, list[str]]:
    """All accounts, orders, payments and 回款明细 the CRM source holds (a full read, no cursor)."""
    name = crm_source_name(config, rc)
    errors: list[str] = []
    streams, book = read_book(config, name, CRM_STREAMS, rc.fields(), errors)
    if ORDER_STREAM not in streams and PAYMENT_STREAM not in streams:
        raise ConfigurationError(
            f"source {name!r} has neither {ORDER_STREAM} nor {PAYMENT_STREAM}: nothing to report on",
            hint="point reports.crm_source at the CRM source",
        )
    return book, name, errors


class StoredOutbox:
    """The state store's outbox as the voucher report reads it: every row a page at a time
    (oldest first: a key's history reads in the order it happened), then the vouchers of a
    few hundred rows at a time while their lines are written. Open (read-only) until closed."""

    PAGE = 1000

    def __init__(self, config: AppConfig) -> None:
        from sync.engine.build import open_store

        self._store = open_store(config, read_only=True)
        self.problems: list[str] = []

    def items(self) -> Iterator[tuple[int, VoucherItem]]:
        for page in self._store.outbox_pages(self.PAGE):
            for row in page:
                voucher = self._voucher(row)
                if voucher is not None:
                    item = VoucherItem(
                        voucher, row.status, row.erp_id or "", row.erp_number or "", row.last_error
                    )
                    yield row.seq, item

    def vouchers(self, seqs: Sequence[int]) -> Mapping[int, Voucher]:
        found = {}
        for seq, row in self._store.vouchers_by_seq(seqs).items():
            voucher = self._voucher(row, note=False)
            if voucher is not None:
                found[seq] = voucher
        return found

    def quarantined(self) -> list[QuarantineEntry]:
        return self._store.open_quarantine()

    def close(self) -> None:
        self._store.close()

    def _voucher(self, row: OutboxRow, *, note: bool = True) -> Voucher | None:
        try:
            return Voucher.from_stored(row.payload)
        except ValidationError as exc:
            if note:
                self.problems.append(
                    f"outbox {row.external_ref}: payload unreadable: {exc.error_count()} problem(s)"
                )
            return None


def open_outbox(config: AppConfig) -> tuple[StoredOutbox, list[QuarantinedItem]]:
    """The outbox (open: close it when the report is written) and every open quarantine entry."""
    outbox = StoredOutbox(config)
    try:
        quarantine = [_quarantined(q) for q in outbox.quarantined()]
        return outbox, quarantine + writeback_issues(config)
    except BaseException:
        outbox.close()
        raise


def writeback_issues(config: AppConfig) -> list[QuarantinedItem]:
    """Records the CRM refused to take their ERP number on (locked, …), from writeback.db."""
    from sync.writeback.run import load_writeback_config, progress_path

    if not config.writeback:
        return []
    path = progress_path(config, load_writeback_config(config).state_file)
    if not path.exists():
        return []
    from sync.state.writeback_progress import Progress

    progress = Progress(path)
    try:
        entries = progress.problems()
    finally:
        progress.close()
    labels = {
        "refused": "CRM拒绝，将重试 refused, will retry",
        "retry": "待重试 to retry",
        "gave_up": "已放弃 given up",
    }
    return [
        QuarantinedItem(
            mapping="writeback",
            source="",
            stream=e.stream,
            record_id=e.record_id,
            problems=(f"{labels.get(e.state, e.state)} ({e.attempts}×): {e.last_error}",),
            when=e.updated[:10],
            kind="回写失败 write-back",
        )
        for e in entries
    ]


def _quarantined(row: QuarantineEntry) -> QuarantinedItem:
    record = row.record if isinstance(row.record, dict) else {}
    created = row.created
    when = ""
    if created:
        try:
            when = dt.datetime.fromisoformat(created).astimezone(CHINA).date().isoformat()
        except ValueError:
            when = created[:10]
    return QuarantinedItem(
        mapping=row.mapping,
        source=row.source,
        stream=row.stream,
        record_id=row.record_id,
        problems=(row.problem,),
        name=str(record.get("name", "")),
        when=when,
    )


def reminders_log_path(config: AppConfig, configured: str | None) -> Path:
    """reminders.sent_log, else ``reminders.db`` beside the SQLite state db, else in .crmsync/."""
    if configured:
        return config.resolve_path(configured)
    url = config.state.url
    if url.startswith("sqlite:///"):
        return config.resolve_path(url.removeprefix("sqlite:///")).parent / "reminders.db"
    return config.base_dir / ".crmsync" / "reminders.db"
