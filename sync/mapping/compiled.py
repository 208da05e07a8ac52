"""One mapping file compiled once: every expression parsed at load, records mapped cheaply.

``CompiledMapping.map`` turns a record into a ``RecordResult``: a voucher (or a contribution
to a summarised group), a skip by ``when``, a void, or a failure that names the mapping
file:line, the record id and the field. It never raises for a bad record.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from sync.errors import Location, MappingError
from sync.mapping.api import NO_ID, Contribution, RecordResult
from sync.mapping.expr import EvalError, Evaluator, Scope, render_text
from sync.mapping.lookups import Lookup
from sync.mapping.models import MappingSpec
from sync.mapping.summarise import ROUNDING_INDEX, contribution_payload, merge
from sync.model import MappingRef, SourceRef, Voucher, VoucherLine
from sync.money import ZERO, MoneyError, format_amount, parse_amount, round_money

__all__ = ["CompiledLine", "CompiledMapping", "located"]


class _Fail(Exception):
    """A record failed at one located step; becomes a MappingError with the record id."""

    def __init__(self, message: str, where: Location, *, field: str = "", hint: str = "") -> None:
        self.message, self.where, self.field, self.hint = message, where, field, hint
        super().__init__(message)


def located(fn: Evaluator, where: Location, what: str) -> Evaluator:
    """Wrap an evaluator so any failure carries the file:line:column and the key path."""

    def run(s: Scope) -> Any:
        try:
            return fn(s)
        except _Fail:
            raise
        except EvalError as exc:
            raise _Fail(f"{what}: {exc.message}", where, field=exc.field, hint=exc.hint) from None
        except MoneyError as exc:
            raise _Fail(
                f"{what}: {exc}", where, hint='amounts must be decimal strings such as "1130.00"'
            ) from None
        except (ArithmeticError, TypeError, ValueError, KeyError, IndexError) as exc:
            raise _Fail(
                f"{what}: cannot evaluate: {exc}",
                where,
                hint="check the expression and the field types (wrap text amounts in amount(...))",
            ) from None

    return run


@dataclass(frozen=True, slots=True)
class CompiledLine:
    """One voucher line of a mapping with its expressions compiled once, evaluated per record."""

    index: int
    account: Evaluator
    side: str
    amount: Evaluator
    amount_what: str
    #: the amount expression as written (``received``, ``amount(payment_amount)``), for messages
    amount_text: str
    amount_where: Location
    when: Evaluator | None
    dims: tuple[tuple[str, Evaluator], ...]
    memo: Evaluator | None
    currency: Evaluator | None
    foreign_amount: Evaluator | None
    rate: Evaluator | None
    keep_zero: bool
    allow_negative: bool
    where: Location


@dataclass
class CompiledMapping:
    """A mapping ready to run; name, source, stream, file and line identify it."""

    name: str
    source: str
    stream: str
    file: str
    line: int
    spec: MappingSpec
    record_id: Evaluator
    reference: Evaluator
    control_amount: Evaluator | None
    key: Evaluator | None
    when: Evaluator | None
    when_text: str
    void_when: Evaluator
    hold_when: Evaluator | None
    hold_text: str
    lets: tuple[tuple[str, Evaluator], ...]
    book: Evaluator
    date: Evaluator
    period: Evaluator | None
    group: Evaluator
    summary: Evaluator
    currency: str
    lines: tuple[CompiledLine, ...]
    lookups: Mapping[str, Lookup]
    lines_where: Location
    header_where: Location
    rounding_account: Evaluator | None = None
    rounding_max: Decimal = ZERO
    rounding_memo: Evaluator | None = None
    group_by: tuple[tuple[str, Evaluator], ...] = ()
    group_summary: Evaluator | None = None
    group_key: Evaluator | None = None
    accounts: Collection[str] | None = None
    profile: Mapping[str, str] = field(default_factory=dict)
    mapping_ref: MappingRef = field(init=False)
    #: what produced this mapping's output (sync.mapping.versions); set by the MappingSet
    version: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.mapping_ref = MappingRef(name=self.name, file=self.file, line=self.line)

    def stamp(self, version: str) -> None:
        """Stamp everything this mapping produces from now on with ``version``."""
        self.version = version
        self.mapping_ref = MappingRef(name=self.name, file=self.file, line=self.line, version=version)

    @property
    def summarised(self) -> bool:
        return bool(self.group_by)

    @property
    def reversal_style(self) -> Any:
        return self.spec.reversal

    # -- per record -----------------------------------------------------------------------------

    def map(self, record: Mapping[str, Any]) -> RecordResult:
        result = self._map(record)
        return replace(result, version=self.version) if self.version else result

    def _map(self, record: Mapping[str, Any]) -> RecordResult:
        scope = Scope(record, self.lookups)
        try:
            rid = self.record_id(scope)
        except _Fail as fail:
            fallback = record.get("_id") if isinstance(record.get("_id"), str) else ""
            return self._failed(fallback or NO_ID, fail)
        if not rid:
            return self._failed(
                NO_ID,
                _Fail(
                    "the record id is empty",
                    Location(self.file, self.line),
                    hint="set `id:` to a field every record has",
                ),
            )
        try:
            excluded = self._excluded(scope, rid)
            if excluded is not None:
                return excluded
            for name, fn in self.lets:
                scope.vars[name] = fn(scope)
            return self._produce(scope, rid)
        except _Fail as fail:
            return self._failed(rid, fail)

    def _excluded(self, scope: Scope, rid: str) -> RecordResult | None:
        """The record-level rules, in order: voided, held (awaiting approval), skipped by ``when``."""
        style = self.spec.reversal
        if self.void_when(scope):
            return RecordResult(self.name, rid, voided=True, reversal_style=style)
        if self.hold_when is not None and self.hold_when(scope):
            reason = f"hold_when: {self.hold_text}"
            return RecordResult(
                self.name, rid, skipped=True, held=True, skip_reason=reason, reversal_style=style
            )
        if self.when is not None and not self.when(scope):
            reason = f"when: {self.when_text}"
            return RecordResult(self.name, rid, skipped=True, skip_reason=reason, reversal_style=style)
        return None

    def _failed(self, rid: str, fail: _Fail) -> RecordResult:
        error = MappingError(
            f"mapping {self.name!r}: {fail.message}",
            hint=fail.hint,
            location=fail.where,
            record_id=rid,
            field=fail.field,
        )
        return RecordResult(self.name, rid, error=error, reversal_style=self.spec.reversal)

    def _produce(self, scope: Scope, rid: str) -> RecordResult:
        day = self.date(scope)
        if not isinstance(day, dt.date):
            raise _Fail(
                f"voucher.date: expected a date, got {day!r}",
                self.header_where,
                hint="use date(field) to turn epoch milliseconds into a date",
            )
        header = {
            "book": self.book(scope),
            "date": day,
            "period": self.period(scope) if self.period else "",
            "group": self.group(scope),
            "summary": self.summary(scope),
            "currency": self.currency,
        }
        group_key = self._group(scope, header) if self.group_by else ""
        lines = self._lines(scope, header["summary"])
        if not lines:
            if self.spec.zero_amount == "quarantine":
                raise _Fail(
                    "every line amount is zero: there is nothing to book",
                    self.lines_where,
                    hint="fix the amount at the source, or set `zero_amount: skip` to skip such records",
                )
            return RecordResult(
                self.name, rid, skipped=True, skip_reason="zero amount", reversal_style=self.spec.reversal
            )
        control = None
        if self.control_amount is not None:
            control = _as_amount(self.control_amount(scope), "control_amount", self.header_where)
        source = SourceRef(
            system=self.source, stream=self.stream, record_id=rid, name=self.reference(scope), amount=control
        )
        extra = self._extra_revision(scope.record)
        if self.group_by:
            return self._contribution(rid, group_key, header, lines, source=source, extra=extra)
        key = self.key(scope) if self.key else f"{self.name}:{self.stream}:{rid}"
        voucher = self._voucher(key, header, [ln for _, ln in lines], (source,), extra)
        return RecordResult(self.name, rid, vouchers=(voucher,), reversal_style=self.spec.reversal)

    def _lines(self, scope: Scope, summary: str) -> list[tuple[int, VoucherLine]]:
        """The record's lines, each with the index of the mapping line it came from."""
        out: list[tuple[int, VoucherLine]] = []
        debit = credit = ZERO
        for line in self.lines:
            if line.when is not None and not line.when(scope):
                continue
            amount = round_money(
                _as_amount(line.amount(scope), line.amount_what, line.amount_where),
                self.currency,
                self.spec.rounding,
            )
            if amount == ZERO and not line.keep_zero:
                continue
            if amount < ZERO and not line.allow_negative:
                shown = format_amount(amount, self.currency)
                raise _Fail(
                    f"{line.amount_what}: {line.amount_text} is {shown}, a negative amount this line does "
                    "not expect",
                    line.amount_where,
                    field=_field_of(line.amount_text, scope),
                    hint="map refunds and credit notes with their own mapping (sides swapped), or set "
                    "`allow_negative: true` on the line if a negative amount is meant",
                )
            account = self._account(line.account(scope), line.where)
            foreign = rate = None
            currency = self.currency
            if line.foreign_amount is not None and line.currency is not None:
                currency = line.currency(scope)
                foreign = _as_amount(line.foreign_amount(scope), "foreign_amount", line.where)
                if line.rate is not None:
                    rate = _as_amount(line.rate(scope), "rate", line.where)
            dims = {name: fn(scope) for name, fn in line.dims}
            memo = line.memo(scope) if line.memo else summary
            try:
                out.append(
                    (
                        line.index,
                        VoucherLine(
                            account=account,
                            side=line.side,
                            amount=amount,
                            currency=currency,
                            amount_foreign=foreign,
                            rate=rate,
                            dims=dims,
                            memo=memo,
                        ),
                    )
                )
            except ValidationError as exc:
                raise _Fail(f"lines[{line.index}]: {_first_error(exc)}", line.where) from None
            if line.side == "debit":
                debit += amount
            else:
                credit += amount
        if debit != credit:
            out.append((ROUNDING_INDEX, self._rounding_line(scope, debit, credit)))
        return out

    def _rounding_line(self, scope: Scope, debit: Decimal, credit: Decimal) -> VoucherLine:
        diff = debit - credit
        text = (
            f"debit {format_amount(debit, self.currency)} != credit {format_amount(credit, self.currency)} "
            f"(difference {format_amount(diff, self.currency)} {self.currency})"
        )
        if self.rounding_account is None:
            raise _Fail(
                f"the voucher does not balance: {text}",
                self.lines_where,
                hint="fix the line amounts (e.g. net + tax must equal gross: use tax_split), "
                "or add `rounding_difference:` for small rounding differences",
            )
        if abs(diff) > self.rounding_max:
            raise _Fail(
                f"the voucher does not balance: {text}, more than rounding_difference.max "
                f"{self.rounding_max}",
                self.lines_where,
                hint="fix the line amounts",
            )
        account = self._account(self.rounding_account(scope), self.lines_where)
        memo = self.rounding_memo(scope) if self.rounding_memo else "尾差"
        return VoucherLine(
            account=account,
            side="credit" if diff > 0 else "debit",
            amount=abs(diff),
            currency=self.currency,
            memo=memo,
        )

    def _account(self, account: str, where: Location) -> str:
        account = self.profile.get(account, account)
        if not account:
            raise _Fail("account is empty", where, hint="check the account template or the lookup it uses")
        if self.accounts is not None and account not in self.accounts:
            raise _Fail(
                f"unknown account {account!r}: not in the chart of accounts",
                where,
                hint="use an account code from the chart, or add the account to the chart",
            )
        return account

    def _extra_revision(self, record: Mapping[str, Any]) -> str:
        if not self.spec.revision_fields:
            return ""
        values = {f: record.get(f) for f in self.spec.revision_fields}
        return json.dumps(values, ensure_ascii=False, sort_keys=True, default=str)

    def _voucher(
        self,
        key: str,
        header: Mapping[str, Any],
        lines: Sequence[VoucherLine],
        sources: tuple[SourceRef, ...],
        extra: str,
    ) -> Voucher:
        try:
            return Voucher(
                key=key,
                book=header["book"],
                date=header["date"],
                period=header["period"],
                group=header["group"],
                summary=header["summary"],
                currency=header["currency"],
                lines=tuple(lines),
                sources=sources,
                mapping=self.mapping_ref,
                extra_revision=extra,
            )
        except ValidationError as exc:
            raise _Fail(
                f"the voucher is not valid: {_first_error(exc)}",
                self.header_where,
                hint="check the voucher header and lines",
            ) from None

    # -- summarisation --------------------------------------------------------------------------

    def _group(self, scope: Scope, header: dict[str, Any]) -> str:
        """Evaluate the group values (usable by name afterwards); set the group summary; the group key."""
        values = []
        for name, fn in self.group_by:
            value = fn(scope)
            scope.vars[name] = value
            values.append(render_text(value))
        if self.group_summary is not None:
            header["summary"] = self.group_summary(scope)
        return self.group_key(scope) if self.group_key else f"{self.name}:{self.stream}:{'|'.join(values)}"

    def _contribution(
        self,
        rid: str,
        key: str,
        header: dict[str, Any],
        lines: Sequence[tuple[int, VoucherLine]],
        *,
        source: SourceRef,
        extra: str,
    ) -> RecordResult:
        # the record's own voucher must be valid on its own: one bad record fails alone
        self._voucher(key, header, [ln for _, ln in lines], (source,), extra)
        payload = contribution_payload(header, lines, source, extra)
        contribution = Contribution(mapping=self.name, group_key=key, record_id=rid, payload=payload)
        return RecordResult(self.name, rid, contributions=(contribution,), reversal_style=self.spec.reversal)

    def assemble(self, group_key: str, contributions: Sequence[Contribution]) -> Voucher:
        """The group's voucher from all its current members; the order they come in does not matter."""
        if not contributions:
            raise MappingError(f"mapping {self.name!r}: group {group_key} has no records to assemble")
        merged = merge(contributions)
        try:
            return self._voucher(group_key, merged.header, merged.lines, merged.sources, merged.extra)
        except _Fail as fail:
            raise MappingError(
                f"mapping {self.name!r}: group {group_key}: {fail.message}",
                hint=fail.hint,
                location=fail.where,
            ) from None


_AMOUNT_OF_FIELD = re.compile(r"^amount\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$")


def _field_of(expression: str, scope: Scope) -> str:
    """The record field an amount expression reads directly (``payment_amount`` or
    ``amount(payment_amount)``), else ''."""
    match = _AMOUNT_OF_FIELD.match(expression.strip())
    name = match.group(1) if match else expression.strip()
    return name if name in scope.record else ""


def _as_amount(value: Any, what: str, where: Location) -> Decimal:
    if type(value) is Decimal:
        return value
    try:
        return parse_amount(value, field=what)
    except MoneyError as exc:
        raise _Fail(
            str(exc),
            where,
            hint='amounts must be decimal strings such as "1130.00" or expressions giving a Decimal',
        ) from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else str(err["msg"])
