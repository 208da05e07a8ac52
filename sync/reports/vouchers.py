"""The voucher report: every voucher of a period, traceable to its source record, with
control totals that tie out to the cent.

Tie-out rule, per day, per voucher group and overall: *source amount read* (the
``SourceRef.amount`` of every source record behind the period's vouchers) minus *voucher
amount posted* (the total of the vouchers the ERP holds) equals the sum of the differences
listed record by record: a record whose voucher is not posted (pending, failed, waiting for
approval) contributes its whole amount with the status as the reason; a posted voucher whose
amount differs from its records' (rounding, a fee line) contributes the difference. Reversals
count negative. Per account the report ties the debits and credits the mappings produced to
those posted.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import TypedDict, overload
from urllib.parse import quote

from typing_extensions import Unpack

from sync.dates import now_in_china
from sync.errors import StateError
from sync.model import SourceRef, Voucher
from sync.money import ZERO, total
from sync.reports.chains import Chain, Chains, chains
from sync.reports.items import ListedOutbox, OutboxSource, SourceLite, VoucherFacts, VoucherItem, facts_of
from sync.state.status import IN_ERP, Status
from sync.tables.model import Cell, Column, Kind, Report, Table

__all__ = [
    "OutboxRead",
    "QuarantinedItem",
    "VoucherItem",
    "default_period",
    "link_for",
    "outbox_report",
    "read_outbox",
    "voucher_report",
]

#: the voucher lines an html page shows before it points to the xlsx/csv that holds them all
HTML_VOUCHER_LINES = 5_000

POSTED = Status.POSTED
#: a superseded voucher was replaced before it ever reached the ERP: not part of the books, left out
SUPERSEDED = Status.SUPERSEDED
STATUS_ZH = {
    Status.POSTED: "已过账",
    Status.PENDING: "待过账",
    Status.SENDING: "发送中",
    Status.FAILED: "失败",
    Status.AWAITING_APPROVAL: "待审批",
    "quarantined": "已隔离",  # a record, not a voucher status: it never became one
    Status.SUPERSEDED: "已被替代",
    Status.REVERSED: "已冲销",
}


@dataclass(frozen=True, slots=True)
class QuarantinedItem:
    """A record no mapping could turn into a voucher, and why (or, with another ``kind``, a
    record the CRM refused to take its ERP number back on)."""

    mapping: str
    source: str
    stream: str
    record_id: str
    problems: tuple[str, ...]
    name: str = ""
    when: str = ""
    kind: str = "隔离记录 quarantined record"


def status_label(status: str) -> str:
    zh = STATUS_ZH.get(status)
    return f"{zh} {status}" if zh else status


def link_for(template: str | Mapping[str, str] | None, ref: SourceRef | SourceLite) -> str:
    """The CRM page of a source record from ``reports.link_template``.

    The template is a string or a per-stream mapping (``{SalesOrderObj: "https://…/{record_id}"}``,
    key ``default`` as the fallback) with ``{system}``, ``{stream}``, ``{record_id}``, ``{name}``.
    """
    if isinstance(template, Mapping):
        template = template.get(ref.stream) or template.get("default")
    if not template:
        return ""
    values = {"system": ref.system, "stream": ref.stream, "record_id": ref.record_id, "name": ref.name}
    try:
        return template.format_map({k: quote(v, safe="") for k, v in values.items()})
    except (KeyError, IndexError, ValueError):
        return ""


def default_period(items: Iterable[VoucherItem]) -> str | None:
    """The period with the most vouchers (the latest on a tie); None when there are none."""
    return _busiest(item.voucher.period for item in items)


def _busiest(periods: Iterable[str]) -> str | None:
    counts: dict[str, int] = defaultdict(int)
    for period in periods:
        counts[period] += 1
    if not counts:
        return None
    return max(counts, key=lambda p: (counts[p], p))


#: per account: debit and credit the mappings produced, debit and credit the ERP holds
AccountSums = dict[str, list[Decimal]]


@dataclass
class OutboxRead:
    """The whole outbox read once: the facts of every row and each period's account sums."""

    facts: list[VoucherFacts] = field(default_factory=list)
    accounts: dict[str, AccountSums] = field(default_factory=dict)

    def default_period(self) -> str | None:
        """The period with the most vouchers (superseded ones left out), the latest on a tie."""
        return _busiest(f.period for f in self.facts if f.status != SUPERSEDED)

    def account_sums(self, period: str | None) -> AccountSums:
        if period is not None:
            return self.accounts.get(period, {})
        merged: AccountSums = defaultdict(lambda: [ZERO, ZERO, ZERO, ZERO])
        for sums in self.accounts.values():
            for account, s in sums.items():
                m = merged[account]
                for i in range(4):
                    m[i] += s[i]
        return merged


def read_outbox(source: OutboxSource) -> OutboxRead:
    """Read every outbox row once, keeping its facts and adding its lines to its period's sums."""
    read = OutboxRead()
    for seq, item in source.items():
        facts = facts_of(seq, item)
        read.facts.append(facts)
        if facts.status == SUPERSEDED:
            continue
        sums = read.accounts.setdefault(facts.period, defaultdict(lambda: [ZERO, ZERO, ZERO, ZERO]))
        in_erp = facts.status in IN_ERP
        for ln in item.voucher.lines:
            s = sums[ln.account]
            s[0] += ln.debit
            s[1] += ln.credit
            if in_erp:
                s[2] += ln.debit
                s[3] += ln.credit
    return read


@dataclass(frozen=True, slots=True)
class Difference:
    """A CRM record whose current amount differs from what the period holds for it: finance looks
    at these first."""

    item: VoucherFacts
    chain: Chain
    read: Decimal
    posted: Decimal
    reason: str

    @property
    def amount(self) -> Decimal:
        return self.read - self.posted


def differences(touched: Iterable[Chain], period: str | None) -> list[Difference]:
    """Every record whose current amount (in the period of its live revision) is not what the
    period's posted pieces of it net to, with the reason."""
    result = []
    for chain in touched:
        read, posted = chain.read_in(period), chain.posted_in(period)
        if read == posted:
            continue
        item = chain.live or chain.items[-1]
        result.append(Difference(item, chain, read, posted, _reason(chain, period)))
    return result


def _reason(chain: Chain, period: str | None) -> str:
    waiting = [i for i in chain.items if i.status not in IN_ERP and (period is None or i.period == period)]
    if waiting:
        first = waiting[-1]
        return status_label(first.status) + (f": {first.last_error}" if first.last_error else "")
    if period is not None and chain.spans_periods():
        return "跨期 pieces in other periods (see Pieces)"
    if chain.live is not None and chain.live.read is None:
        return "源金额未记录 source amount not recorded"
    if chain.live is None:
        return "源记录已作废，冲销未过账 voided at the source, reversal not posted"
    return "凭证金额与源金额不同 voucher amount differs"


# -- tables --------------------------------------------------------------------------------------------

# The CRM record a row comes from, and the link to open it: the same columns in every table.
_RECORD_COLUMNS = (
    Column("object", "CRM对象", "CRM object"),
    Column("record_id", "记录ID", "Record id"),
    Column("record_name", "记录名称", "Record name"),
)
_LINK_COLUMN = Column("link", "链接", "Link", Kind.LINK)

_V_COLUMNS = (
    Column("date", "日期", "Date", Kind.DATE),
    Column("group", "凭证字", "Group"),
    Column("erp_number", "ERP凭证号", "ERP number"),
    Column("status", "状态", "Status"),
    Column("key", "凭证键", "Voucher key"),
    Column("summary", "摘要", "Summary"),
    Column("line", "行", "Line", Kind.INT),
    Column("account", "科目", "Account"),
    Column("debit", "借方", "Debit", Kind.MONEY),
    Column("credit", "贷方", "Credit", Kind.MONEY),
    Column("dims", "辅助核算", "Dimensions"),
    Column("memo", "行摘要", "Line memo"),
    Column("mapping", "映射", "Mapping"),
    *_RECORD_COLUMNS,
    _LINK_COLUMN,
    Column("chain", "冲销关系", "Reversal chain"),
)


class VoucherLines(Sequence[tuple[Cell, ...]]):
    """The rows of the vouchers table, made while they are written: each voucher is read
    again from the outbox a few hundred at a time, so no renderer holds a month's lines."""

    CHUNK = 500

    def __init__(
        self,
        source: OutboxSource,
        chosen: list[VoucherFacts],
        by_key: Chains,
        template: str | Mapping[str, str] | None,
    ) -> None:
        self._source, self._chosen, self._by_key, self._template = source, chosen, by_key, template
        self._count = sum(f.n_lines for f in chosen)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[tuple[Cell, ...]]:
        for start in range(0, len(self._chosen), self.CHUNK):
            part = self._chosen[start : start + self.CHUNK]
            vouchers = self._source.vouchers([f.seq for f in part])
            for facts in part:
                voucher = vouchers.get(facts.seq)
                if voucher is None:
                    raise StateError(
                        f"outbox row {facts.seq} ({facts.external_ref}) went away while the report "
                        "was written",
                        hint="run the report again",
                    )
                yield from self._rows(facts, voucher)

    @overload
    def __getitem__(self, index: int) -> tuple[Cell, ...]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[Cell, ...]]: ...
    def __getitem__(self, index: int | slice) -> tuple[Cell, ...] | Sequence[tuple[Cell, ...]]:
        if isinstance(index, slice):
            return list(self)[index]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        return next(islice(self, index, None))

    def _rows(self, f: VoucherFacts, v: Voucher) -> Iterator[tuple[Cell, ...]]:
        chain = self._by_key.of(f).link_of(f) or None
        src = f.source
        record = src.record_id + (f" (+{f.n_sources - 1})" if f.n_sources > 1 else "")
        link = link_for(self._template, src) or None
        status = status_label(f.status)
        for number, ln in enumerate(v.lines, 1):
            dims = ", ".join(f"{k}={val}" for k, val in ln.dims)
            yield (
                f.date,
                f.group,
                f.erp_number or None,
                status,
                f.key,
                v.summary,
                number,
                ln.account,
                ln.debit,
                ln.credit,
                dims,
                ln.memo,
                f.mapping,
                src.stream,
                record,
                src.name,
                link,
                chain,
            )


def _order(f: VoucherFacts) -> tuple[dt.date, str, str, str]:
    """The order of the report: by date, voucher group, key and revision."""
    return (f.date, f.group, f.key, f.revision)


@dataclass(frozen=True, slots=True)
class Scope:
    """The vouchers of the report's period (ordered) and every key's history."""

    chosen: list[VoucherFacts]
    by_key: Chains
    period: str | None

    def touched(self) -> Iterator[Chain]:
        """The chain of every key the period has a voucher of, once each, in report order
        (made as they are asked for: a month has as many as it has vouchers)."""
        period = self.period
        for f in self.chosen:
            chain = self.by_key.of(f)
            if len(chain.items) > 1:
                mine = [i for i in chain.items if period is None or i.period == period]
                if min(mine, key=_order) is not f:
                    continue
            yield chain


_TIE_COLUMNS = (
    Column("count", "凭证数", "Vouchers", Kind.INT),
    Column("read", "源金额", "Source amount read", Kind.MONEY),
    Column("posted", "已过账金额", "Voucher amount posted", Kind.MONEY),
    Column("difference", "差额", "Difference", Kind.MONEY),
)


def _tieout(
    titles: tuple[str, str, str],
    head: Column,
    scope: Scope,
    key_of: Callable[[VoucherFacts], str],
) -> Table:
    """Read (each record's current amount, on its live revision's day or group) against posted
    (each piece of the period on its own), so the difference totals the differences sheet."""
    name, zh, en = titles
    items, period = scope.chosen, scope.period
    count: dict[str, int] = defaultdict(int)
    read: dict[str, Decimal] = defaultdict(lambda: ZERO)
    posted: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for item in items:
        k = key_of(item)
        count[k] += 1
        if item.status in IN_ERP:
            posted[k] += item.posted
    for chain in scope.touched():
        live = chain.live
        if live is not None and (period is None or live.period == period):
            k = key_of(live)
            read[k] += chain.read_in(period)
            count.setdefault(k, 0)
    rows = tuple((k, count[k], read[k], posted[k], read[k] - posted[k]) for k in sorted(count))
    total_read, total_posted = sum(read.values(), ZERO), sum(posted.values(), ZERO)
    totals = ("合计 / Total", len(items), total_read, total_posted, total_read - total_posted)
    return Table(
        name,
        zh,
        en,
        (head, *_TIE_COLUMNS),
        rows,
        totals,
        note_zh="源金额（记录的当前金额）− 已过账金额 = 差异明细表的合计",
        note_en="read (each record's current amount) − posted = the total of the differences sheet",
    )


def _account_table(sums: AccountSums) -> Table:
    amounts = [
        (acc, (s[0], s[1], s[2], s[3], (s[0] - s[1]) - (s[2] - s[3]))) for acc, s in sorted(sums.items())
    ]
    rows = tuple((acc, *values) for acc, values in amounts)
    totals: tuple[Cell, ...] = (
        "合计 / Total",
        *(total(values[i] for _, values in amounts) for i in range(5)),
    )
    columns = (
        Column("account", "科目", "Account"),
        Column("debit_mapped", "借方(生成)", "Debit mapped", Kind.MONEY),
        Column("credit_mapped", "贷方(生成)", "Credit mapped", Kind.MONEY),
        Column("debit_posted", "借方(已过账)", "Debit posted", Kind.MONEY),
        Column("credit_posted", "贷方(已过账)", "Credit posted", Kind.MONEY),
        Column("difference", "净额差异", "Net difference", Kind.MONEY),
    )
    return Table(
        "by_account",
        "按科目",
        "By account",
        columns,
        rows,
        totals,
        note_zh="映射生成的借贷 vs 已过账的借贷；差异来自未过账凭证",
        note_en="debits/credits the mappings produced vs those posted; differences are unposted vouchers",
    )


def _differences_table(diffs: list[Difference], template: str | Mapping[str, str] | None) -> Table:
    columns = (
        Column("date", "日期", "Date", Kind.DATE),
        Column("key", "凭证键", "Voucher key"),
        Column("status", "状态", "Status"),
        *_RECORD_COLUMNS,
        Column("read", "源金额", "Source amount", Kind.MONEY),
        Column("posted", "已过账", "Posted", Kind.MONEY),
        Column("difference", "差额", "Difference", Kind.MONEY),
        Column("reason", "原因", "Reason"),
        Column("pieces", "各期明细", "Pieces by period"),
        _LINK_COLUMN,
    )
    rows = []
    for d in diffs:
        ref = d.item.source
        rows.append(
            (
                d.item.date,
                d.chain.key,
                status_label(d.item.status),
                ref.stream,
                d.item.record_ids,
                ref.name,
                d.read,
                d.posted,
                d.amount,
                d.reason,
                d.chain.pieces(),
                link_for(template, ref) or None,
            )
        )
    totals = (
        "合计 / Total",
        None,
        None,
        None,
        None,
        None,
        total(d.read for d in diffs),
        total(d.posted for d in diffs),
        total(d.amount for d in diffs),
        None,
        None,
        None,
    )
    return Table(
        "differences",
        "差异明细",
        "Differences",
        columns,
        tuple(rows),
        totals,
        note_zh="逐条列出记录当前金额与本期已过账金额的差异，附各期明细",
        note_en="record by record: the current amount against what this period holds, each piece's period",
    )


def _failures_table(
    items: list[VoucherFacts], quarantined: list[QuarantinedItem], template: str | Mapping[str, str] | None
) -> Table:
    columns = (
        Column("kind", "类型", "Kind"),
        Column("date", "日期", "Date"),
        Column("mapping", "映射", "Mapping"),
        *_RECORD_COLUMNS,
        Column("amount", "金额", "Amount", Kind.MONEY),
        Column("reason", "原因", "Reason"),
        _LINK_COLUMN,
    )
    rows: list[tuple[Cell, ...]] = []
    for item in items:
        if item.status != Status.FAILED:
            continue
        src = item.source
        rows.append(
            (
                "失败凭证 failed voucher",
                item.date.isoformat(),
                item.mapping,
                src.stream,
                src.record_id,
                src.name,
                item.total,
                item.last_error or "-",
                link_for(template, src) or None,
            )
        )
    for q in quarantined:
        ref = SourceRef(system=q.source, stream=q.stream, record_id=q.record_id, name=q.name)
        rows.append(
            (
                q.kind,
                q.when,
                q.mapping,
                q.stream,
                q.record_id,
                q.name,
                None,
                "; ".join(q.problems) or "-",
                link_for(template, ref) or None,
            )
        )
    return Table(
        "failures",
        "失败与隔离",
        "Failed and quarantined",
        columns,
        tuple(rows),
        note_zh="失败凭证（ERP拒绝）与无法生成凭证的隔离记录，附原因",
        note_en="vouchers the ERP refused and records no mapping could turn into a voucher, with the reason",
    )


class ReportOptions(TypedDict, total=False):
    """``outbox_report``'s options after ``period``, for the callers that pass them on."""

    link_template: str | Mapping[str, str] | None
    period_note: str
    now: dt.datetime | None
    html_lines: int


def voucher_report(
    items: Iterable[VoucherItem],
    quarantined: Iterable[QuarantinedItem],
    *,
    period: str | None,
    **options: Unpack[ReportOptions],
) -> Report:
    """The report of one period (``None`` = every period) of vouchers held in memory."""
    source = ListedOutbox(list(items))
    return outbox_report(source, read_outbox(source), quarantined, period=period, **options)


def outbox_report(
    source: OutboxSource,
    read: OutboxRead,
    quarantined: Iterable[QuarantinedItem],
    *,
    period: str | None,
    link_template: str | Mapping[str, str] | None = None,
    period_note: str = "",
    now: dt.datetime | None = None,
    html_lines: int = HTML_VOUCHER_LINES,
) -> Report:
    """The report of one period (``None`` = every period), vouchers ordered by date and key.

    Everything but the voucher lines is computed from ``read``; the lines are read again from
    ``source`` while the report is written, so ``source`` must stay open until then. An html
    page shows the first ``html_lines`` voucher lines (0: all) and says where the rest are.
    """
    every = [f for f in read.facts if period is None or f.period == period]
    superseded = sum(1 for f in every if f.status == SUPERSEDED)
    chosen = sorted((f for f in every if f.status != SUPERSEDED), key=_order)
    del every
    # a record's history across every period: its current amount against what is posted for it
    by_key = chains(f for f in read.facts if f.status != SUPERSEDED)
    scope = Scope(chosen, by_key, period)
    q_items = list(quarantined)
    label = period or "全部 all"
    # control totals first: a reader checks that the period ties out, then drills down
    tables = (
        _tieout(
            ("by_day", "按日控制合计", "Control totals by day"),
            Column("day", "日期", "Day"),
            scope,
            lambda f: f.date.isoformat(),
        ),
        _tieout(
            ("by_group", "按凭证字控制合计", "Control totals by voucher group"),
            Column("group", "凭证字", "Voucher group"),
            scope,
            lambda f: f.group,
        ),
        _account_table(read.account_sums(period)),
        _differences_table(differences(scope.touched(), period), link_template),
        _failures_table(chosen, q_items, link_template),
        Table(
            "vouchers",
            "凭证",
            "Vouchers",
            _V_COLUMNS,
            VoucherLines(source, chosen, by_key, link_template),
            note_zh=f"期间 {label}：每张凭证的每一行及其来源记录",
            note_en=f"period {label}: every voucher line with its source",
            html_limit=html_lines,
        ),
    )
    by_status: dict[str, int] = defaultdict(int)
    for item in chosen:
        by_status[item.status] += 1
    day_totals = tables[0].totals
    assert (
        day_totals is not None and isinstance(day_totals[2], Decimal) and isinstance(day_totals[3], Decimal)
    )
    assert isinstance(day_totals[4], Decimal)
    facts = (
        ("期间", "Period", label + (f"（{period_note}）" if period_note else "")),
        ("凭证数", "Vouchers", str(len(chosen))),
        ("源金额合计", "Source amount read", f"{day_totals[2]:,.2f}"),
        ("已过账合计", "Voucher amount posted", f"{day_totals[3]:,.2f}"),
        ("差额（见差异明细）", "Difference (see Differences)", f"{day_totals[4]:,.2f}"),
        ("状态", "Status", ", ".join(f"{status_label(s)}: {n}" for s, n in sorted(by_status.items())) or "-"),
        ("隔离记录", "Quarantined records", str(len(q_items))),
        ("已被替代（未过账，未计入）", "Superseded (never posted, not counted)", str(superseded)),
    )
    return Report(
        f"vouchers-{period or 'all'}",
        f"凭证报告 {label}",
        f"Voucher report {label}",
        tables,
        now or now_in_china(),
        facts,
    )
