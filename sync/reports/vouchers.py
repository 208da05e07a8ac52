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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from sync.dates import now_in_china
from sync.model import SourceRef, Voucher
from sync.money import ZERO, total
from sync.reports.chains import REVERSAL_SUFFIX, Chain, chains
from sync.reports.items import VoucherItem, posted_amount, source_amount
from sync.state.status import IN_ERP, Status
from sync.tables.model import Cell, Column, Kind, Report, Table

__all__ = ["QuarantinedItem", "VoucherItem", "default_period", "link_for", "voucher_report"]

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


def link_for(template: str | Mapping[str, str] | None, ref: SourceRef) -> str:
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
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item.voucher.period] += 1
    if not counts:
        return None
    return max(counts, key=lambda p: (counts[p], p))


@dataclass(frozen=True, slots=True)
class Difference:
    """A CRM record whose current amount differs from what the period holds for it: finance looks
    at these first."""

    item: VoucherItem
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
    waiting = [
        i for i in chain.items if i.status not in IN_ERP and (period is None or i.voucher.period == period)
    ]
    if waiting:
        first = waiting[-1]
        return status_label(first.status) + (f": {first.last_error}" if first.last_error else "")
    if period is not None and chain.spans_periods():
        return "跨期 pieces in other periods (see Pieces)"
    if chain.live is not None and source_amount(chain.live.voucher) is None:
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


def _voucher_rows(
    items: list[VoucherItem], by_key: Mapping[str, Chain], template: str | Mapping[str, str] | None
) -> list[tuple[Cell, ...]]:
    rows: list[tuple[Cell, ...]] = []
    for item in items:
        v = item.voucher
        chain = by_key[v.key.removesuffix(REVERSAL_SUFFIX)].link_of(item) or None
        src = v.source
        more = f" (+{len(v.sources) - 1})" if len(v.sources) > 1 else ""
        for number, ln in enumerate(v.lines, 1):
            dims = ", ".join(f"{k}={val}" for k, val in ln.dims)
            rows.append(
                (
                    v.date,
                    v.group,
                    item.erp_number or None,
                    status_label(item.status),
                    v.key,
                    v.summary,
                    number,
                    ln.account,
                    ln.debit,
                    ln.credit,
                    dims,
                    ln.memo,
                    v.mapping.name,
                    src.stream,
                    src.record_id + more,
                    src.name,
                    link_for(template, src) or None,
                    chain,
                )
            )
    return rows


_TIE_COLUMNS = (
    Column("count", "凭证数", "Vouchers", Kind.INT),
    Column("read", "源金额", "Source amount read", Kind.MONEY),
    Column("posted", "已过账金额", "Voucher amount posted", Kind.MONEY),
    Column("difference", "差额", "Difference", Kind.MONEY),
)


def _tieout(
    titles: tuple[str, str, str],
    head: Column,
    scope: tuple[list[VoucherItem], list[Chain], str | None],
    key_of: Callable[[Voucher], str],
) -> Table:
    """Read (each record's current amount, on its live revision's day or group) against posted
    (each piece of the period on its own), so the difference totals the differences sheet."""
    name, zh, en = titles
    items, touched, period = scope
    count: dict[str, int] = defaultdict(int)
    read: dict[str, Decimal] = defaultdict(lambda: ZERO)
    posted: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for item in items:
        k = key_of(item.voucher)
        count[k] += 1
        if item.status in IN_ERP:
            posted[k] += posted_amount(item.voucher)
    for chain in touched:
        live = chain.live
        if live is not None and (period is None or live.voucher.period == period):
            k = key_of(live.voucher)
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


def _account_table(items: list[VoucherItem]) -> Table:
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO, ZERO])
    for item in items:
        for ln in item.voucher.lines:
            s = sums[ln.account]
            s[0] += ln.debit
            s[1] += ln.credit
            if item.status in IN_ERP:
                s[2] += ln.debit
                s[3] += ln.credit
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
        v = d.item.voucher
        ref = v.source
        ids = ", ".join(s.record_id for s in v.sources)
        rows.append(
            (
                v.date,
                d.chain.key,
                status_label(d.item.status),
                ref.stream,
                ids,
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
    items: list[VoucherItem], quarantined: list[QuarantinedItem], template: str | Mapping[str, str] | None
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
        v = item.voucher
        rows.append(
            (
                "失败凭证 failed voucher",
                v.date.isoformat(),
                v.mapping.name,
                v.source.stream,
                v.source.record_id,
                v.source.name,
                v.total,
                item.last_error or "-",
                link_for(template, v.source) or None,
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


def voucher_report(
    items: Iterable[VoucherItem],
    quarantined: Iterable[QuarantinedItem],
    *,
    period: str | None,
    link_template: str | Mapping[str, str] | None = None,
    period_note: str = "",
    now: dt.datetime | None = None,
) -> Report:
    """The report of one period (``None`` = every period), vouchers ordered by date and key."""
    all_items = list(items)
    every = [i for i in all_items if period is None or i.voucher.period == period]
    superseded = sum(1 for i in every if i.status == SUPERSEDED)
    chosen = sorted(
        (i for i in every if i.status != SUPERSEDED),
        key=lambda i: (i.voucher.date, i.voucher.group, i.voucher.key, i.voucher.revision),
    )
    # a record's history across every period: its current amount against what is posted for it
    by_key = chains(i for i in all_items if i.status != SUPERSEDED)
    touched = [by_key[k] for k in dict.fromkeys(i.voucher.key.removesuffix(REVERSAL_SUFFIX) for i in chosen)]
    scope = (chosen, touched, period)
    q_items = list(quarantined)
    label = period or "全部 all"
    # control totals first: a reader checks that the period ties out, then drills down
    tables = (
        _tieout(
            ("by_day", "按日控制合计", "Control totals by day"),
            Column("day", "日期", "Day"),
            scope,
            lambda v: v.date.isoformat(),
        ),
        _tieout(
            ("by_group", "按凭证字控制合计", "Control totals by voucher group"),
            Column("group", "凭证字", "Voucher group"),
            scope,
            lambda v: v.group,
        ),
        _account_table(chosen),
        _differences_table(differences(touched, period), link_template),
        _failures_table(chosen, q_items, link_template),
        Table(
            "vouchers",
            "凭证",
            "Vouchers",
            _V_COLUMNS,
            tuple(_voucher_rows(chosen, by_key, link_template)),
            note_zh=f"期间 {label}：每张凭证的每一行及其来源记录",
            note_en=f"period {label}: every voucher line with its source",
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
