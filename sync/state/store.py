"""The state store: one facade over one module per table, the SQL written once for both backends.

Everything the engine must not lose lives here: runs, source cursors, the voucher outbox,
the record index (which voucher a record produced, so edits and voids know what to
reverse), summarisation contributions, the quarantine, control flags, reconciliation
decisions, the audit trail and the run lock. Each table's queries live in its own module
(``runs``, ``cursors``, ``outbox``, ``records``, ``source_records``, ``quarantine``, ``control``,
``decisions``, ``reminders_sent``, ``audit``, and the console's ``console_users`` and
``voucher_facts``); backends (SQLite, PostgreSQL) supply the
connection, the write transaction, the run lock and the few dialect differences
(``for_update_sql``), so both behave identically.
No module outside sync/state/ issues SQL.
"""

from __future__ import annotations

from sync.state.base import now_iso
from sync.state.console_users import ConsoleUsersTable
from sync.state.control import ControlTable
from sync.state.cursors import CursorsTable
from sync.state.decisions import DecisionsTable
from sync.state.outbox import OutboxRow, OutboxTable
from sync.state.quarantine import QuarantineTable
from sync.state.records import RecordsTable
from sync.state.reminders_sent import RemindersSentTable
from sync.state.runs import RunsTable
from sync.state.sealed import SealedColumns
from sync.state.source_records import SourceRecordsTable
from sync.state.voucher_facts import VoucherFactsTable

__all__ = ["OutboxRow", "StateStore", "now_iso"]


class StateStore(
    RunsTable,
    CursorsTable,
    VoucherFactsTable,
    OutboxTable,
    RecordsTable,
    SourceRecordsTable,
    QuarantineTable,
    ControlTable,
    DecisionsTable,
    RemindersSentTable,
    ConsoleUsersTable,
    SealedColumns,
):
    """Every table of the state store behind one object; a backend subclasses it."""
