"""The canonical voucher (记账凭证): what every mapping produces and every destination posts.

Vouchers are frozen value objects. Lines are a tuple, dimensions a sorted tuple of pairs,
so "immutable" holds all the way down. A voucher that does not balance in the book
currency cannot be constructed: the check runs in the model, after every mapping step,
and nothing can skip it. Every voucher carries its provenance: the source records behind
it and the mapping file and line that made it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sync.dates import PERIOD
from sync.money import ZERO, format_amount, parse_amount, total

__all__ = ["Amount", "MappingRef", "ReversalStyle", "Side", "SourceRef", "Voucher", "VoucherLine"]


#: validation context for a voucher the state store kept after it was validated once
#: (``Voucher.from_stored``): types are checked, the Python-level checks are not repeated
STORED: Final = {"stored": True}


def _amount(value: object, info: ValidationInfo) -> Decimal:
    if info.context is STORED and isinstance(value, str):
        return Decimal(value)  # written by ``str(Decimal)`` when the voucher was first validated
    return parse_amount(value)


#: A money amount: Decimal in, Decimal out; floats refused before pydantic could coerce them.
Amount = Annotated[Decimal, BeforeValidator(_amount)]


class Side(StrEnum):
    """Which column of the voucher a line's amount stands in: 借 debit or 贷 credit."""

    DEBIT = "debit"
    CREDIT = "credit"

    def opposite(self) -> Side:
        return Side.CREDIT if self is Side.DEBIT else Side.DEBIT


class ReversalStyle(StrEnum):
    """How a posted voucher is undone: 红字冲销 (same sides, negative amounts) or swapped sides."""

    RED = "red"
    SWAP = "swap"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class SourceRef(_Frozen):
    """One source record behind a voucher (several for a summarised voucher)."""

    system: str = Field(description="source name in config.yaml, e.g. 'crm'")
    stream: str = Field(description="stream / object API name, e.g. 'SalesOrderObj'")
    record_id: str = Field(description="the record's primary key, e.g. Fxiaoke `_id`")
    name: str = Field("", description="human reference such as the order number; '' when unknown")
    amount: Amount | None = Field(None, description="the money amount read from the record (control totals)")


class MappingRef(_Frozen):
    """The mapping rule that produced a voucher: name, file and line (for error messages), and
    the version of it that did (``sync.mapping.versions``; not part of the voucher's revision)."""

    name: str
    file: str = ""
    line: int = 0
    version: str = ""


class VoucherLine(_Frozen):
    """One line (分录) of a voucher.

    ``amount`` is in the book currency and is positive, except on a red-style reversal
    where it is negative. ``amount_foreign`` and ``rate`` are set for a foreign-currency
    line (``currency`` then names that currency); ``dims`` are the auxiliary dimensions
    (辅助核算) such as customer, department, project, bank_account.
    """

    account: str = Field(min_length=1)
    side: Side
    amount: Amount
    currency: str = Field("CNY", min_length=3, max_length=3)
    amount_foreign: Amount | None = None
    rate: Amount | None = None
    dims: tuple[tuple[str, str], ...] = ()
    memo: str = ""

    @field_validator("dims", mode="before")
    @classmethod
    def _sorted_dims(cls, value: object) -> object:
        if isinstance(value, Mapping):
            return tuple(sorted((str(k), str(v)) for k, v in value.items() if v is not None and v != ""))
        return value

    @property
    def debit(self) -> Decimal:
        return self.amount if self.side is Side.DEBIT else ZERO

    @property
    def credit(self) -> Decimal:
        return self.amount if self.side is Side.CREDIT else ZERO

    @property
    def dimensions(self) -> dict[str, str]:
        return dict(self.dims)

    def dim(self, name: str) -> str | None:
        return next((v for k, v in self.dims if k == name), None)


class Voucher(_Frozen):
    """A balanced journal entry with its idempotency key, revision and provenance.

    ``key`` is deterministic (mapping + stream + source id, or mapping + group values for a
    summarised voucher). ``revision`` is a hash of the accounting content, computed here
    when the mapping leaves it empty, so a source edit that changes nothing on the voucher
    changes nothing in the ERP. ``reversal_of`` is set on a reversal voucher to the revision
    it undoes.
    """

    key: str = Field(min_length=1, max_length=400)
    revision: str = ""
    book: str = Field(min_length=1)
    date: dt.date
    period: str = ""
    group: str = Field("记", min_length=1, description="voucher group 凭证字 (记, 收, 付, 转 …)")
    summary: str = Field(min_length=1, description="摘要")
    currency: str = Field("CNY", min_length=3, max_length=3, description="book currency")
    lines: tuple[VoucherLine, ...] = Field(min_length=2)
    sources: tuple[SourceRef, ...] = Field(min_length=1)
    mapping: MappingRef
    reversal_of: str | None = None
    extra_revision: str = Field("", description="source fields the mapping adds to the revision")

    @classmethod
    def from_stored(cls, payload: str) -> Voucher:
        """A voucher from the JSON the outbox keeps (``model_dump_json`` of a validated voucher).

        Balance, period and revision were checked when it was made; parsing the outbox for
        posting or reversing does not repeat them (the outbox's seal authenticates the payload).
        """
        return cls.model_validate_json(payload, context=STORED)

    @model_validator(mode="after")
    def _validate(self, info: ValidationInfo) -> Self:
        if info.context is STORED and self.period and self.revision:
            return self
        if not self.period:
            object.__setattr__(self, "period", f"{self.date.year:04d}-{self.date.month:02d}")
        elif not PERIOD.match(self.period):
            raise ValueError(f"period {self.period!r} must look like 2026-11")
        debit = total(line.debit for line in self.lines)
        credit = total(line.credit for line in self.lines)
        if debit != credit:
            raise ValueError(
                f"voucher {self.key} does not balance: debit {format_amount(debit, self.currency)} "
                f"!= credit {format_amount(credit, self.currency)} (difference "
                f"{format_amount(debit - credit, self.currency)} {self.currency}); "
                "add a rounding-difference line or fix the line amounts"
            )
        if all(line.amount == ZERO for line in self.lines):
            raise ValueError(f"voucher {self.key} has only zero amounts; skip such records with `when:`")
        if not self.revision:
            object.__setattr__(self, "revision", self.content_hash())
        return self

    # -- identity ---------------------------------------------------------------------------

    def accounting_content(self) -> dict[str, Any]:
        """What the ERP would see: changes here, and only here, make a new revision."""
        return {
            "book": self.book,
            "date": self.date.isoformat(),
            "period": self.period,
            "group": self.group,
            "summary": self.summary,
            "currency": self.currency,
            "lines": [
                [
                    ln.account,
                    ln.side.value,
                    str(ln.amount),
                    ln.currency,
                    None if ln.amount_foreign is None else str(ln.amount_foreign),
                    None if ln.rate is None else str(ln.rate),
                    list(ln.dims),
                    ln.memo,
                ]
                for ln in self.lines
            ],
            "reversal_of": self.reversal_of,
            "extra": self.extra_revision,
        }

    def content_hash(self) -> str:
        blob = json.dumps(
            self.accounting_content(), ensure_ascii=False, separators=(",", ":"), sort_keys=True
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def external_ref(self) -> str:
        """The reference the ERP stores and can be queried by: one per (key, revision)."""
        return f"{self.key}#{self.revision}"

    @property
    def source(self) -> SourceRef:
        return self.sources[0]

    @property
    def total(self) -> Decimal:
        """The voucher amount: the sum of its debits in the book currency."""
        return total(line.debit for line in self.lines)

    def iter_lines(self) -> Iterator[VoucherLine]:
        return iter(self.lines)

    # -- reversal ---------------------------------------------------------------------------

    def reversal(self, style: ReversalStyle, *, on: dt.date | None = None, period: str = "") -> Voucher:
        """The voucher that undoes this one (红字冲销 or swapped sides), with its own key.

        ``on`` is the posting date of the reversal (a closed period cannot take it, so the
        engine passes today's date); by default the original date.
        """
        if ReversalStyle(style) is ReversalStyle.RED:
            lines = tuple(
                ln.model_copy(
                    update={
                        "amount": -ln.amount,
                        "amount_foreign": None if ln.amount_foreign is None else -ln.amount_foreign,
                    }
                )
                for ln in self.lines
            )
        else:
            lines = tuple(ln.model_copy(update={"side": ln.side.opposite()}) for ln in self.lines)
        day = on or self.date
        return Voucher(
            key=f"{self.key}~rev",
            revision=self.revision,
            book=self.book,
            date=day,
            period=period or f"{day.year:04d}-{day.month:02d}",
            group=self.group,
            summary=f"冲销 {self.summary}"[:200],
            currency=self.currency,
            lines=lines,
            sources=self.sources,
            mapping=self.mapping,
            reversal_of=self.revision,
        )

    # -- public JSON shape (preview --format json, vouchers --format json) -------------------

    def public_dict(self) -> dict[str, Any]:
        """The documented JSON shape; amounts as decimal strings, never numbers."""
        src = self.source
        return {
            "key": self.key,
            "revision": self.revision,
            "book": self.book,
            "date": self.date.isoformat(),
            "period": self.period,
            "group": self.group,
            "summary": self.summary,
            "currency": self.currency,
            "source": {"system": src.system, "stream": src.stream, "id": src.record_id},
            "sources": len(self.sources),
            "mapping": {"name": self.mapping.name, "file": self.mapping.file, "line": self.mapping.line},
            "reversal_of": self.reversal_of,
            "lines": [
                {
                    "account": ln.account,
                    "debit": format_amount(ln.debit, self.currency),
                    "credit": format_amount(ln.credit, self.currency),
                    "currency": ln.currency,
                    **(
                        {
                            "amount_foreign": format_amount(ln.amount_foreign, ln.currency),
                            "rate": str(ln.rate),
                        }
                        if ln.amount_foreign is not None
                        else {}
                    ),
                    "dims": dict(ln.dims),
                    "memo": ln.memo,
                }
                for ln in self.lines
            ],
        }
