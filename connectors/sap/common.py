"""What the three SAP destinations share: the account map, signed lines, the short key.

One rule for signs everywhere in SAP: a line's *signed* amount is ``+amount`` on the debit
side and ``-amount`` on the credit side, and the SAP side (S = Soll/debit, H = Haben/credit)
follows the sign of that signed amount. A red-style reversal line (红字, same side, negative
amount) therefore lands on the opposite SAP side with a positive magnitude: a debit of -100
becomes a credit (H) of 100. Account balances are exactly those of the red voucher; only the
gross debit/credit turnover differs, as SAP's own negative-posting flag is not available in
Journal Entry – Post.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from sync.destination import short_ref
from sync.errors import PermanentError
from sync.model import Side, Voucher
from sync.money import ZERO, format_amount

__all__ = [
    "REF_LEN",
    "DebtorTarget",
    "SapLine",
    "codes_needed",
    "retry_after_seconds",
    "sap_lines",
    "sap_ref",
]

#: SAP DocumentReferenceID / XBLNR is 16 characters: every SAP target carries this form of the key.
REF_LEN = 16


class DebtorTarget(BaseModel):
    """``{debtor: true}``: a receivable line whose customer is the line's ``customer`` dimension.

    ``account`` optionally names the G/L account to post the customer line on (B1 control
    account, IDoc alternative reconciliation account); S/4 derives it from the customer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    debtor: bool = Field(description="must be true: the line is a customer line")
    account: str = Field("", description="control / reconciliation account (optional)")


#: canonical account code -> SAP G/L account, or a customer-line target
AccountMap = dict[str, str | DebtorTarget]


def debtor_must_be_true(code_word: str) -> AfterValidator:
    """Refuse ``{debtor: false}`` in an ``account_map`` (it means nothing), naming what to write instead."""

    def check(value: AccountMap) -> AccountMap:
        for code, target in value.items():
            if isinstance(target, DebtorTarget) and not target.debtor:
                raise ValueError(f"account_map.{code}: write {{debtor: true}} or {code_word}")
        return value

    return AfterValidator(check)


#: the ``account_map`` config field of a target whose accounts are SAP G/L accounts (S/4, IDoc)
GlAccountMap = Annotated[AccountMap, debtor_must_be_true("a G/L account code")]


@dataclass(frozen=True, slots=True)
class SapLine:
    """One voucher line as SAP sees it: numbered, signed, resolved through the account map."""

    number: int  # 1-based position in the canonical voucher
    gl_account: str  # G/L account ('' for a customer line without control account)
    debtor: str  # customer number for a customer line, '' for a G/L line
    signed: Decimal  # debit positive, credit negative
    currency: str
    text: str
    tax_code: str
    profit_center: str
    cost_center: str

    @property
    def is_debtor(self) -> bool:
        return bool(self.debtor)

    @property
    def code(self) -> str:
        """S for a debit, H for a credit, following the sign."""
        return "S" if self.signed > ZERO else "H"

    @property
    def amount_text(self) -> str:
        return format_amount(self.signed, self.currency)

    @property
    def magnitude(self) -> Decimal:
        return abs(self.signed)


def sap_ref(voucher: Voucher) -> str:
    """The ≤16-character form of the voucher's external reference every SAP target carries."""
    return short_ref(voucher.external_ref, REF_LEN)


def _target(account: str, account_map: Mapping[str, str | DebtorTarget]) -> str | DebtorTarget:
    return account_map.get(account, account)


def sap_lines(voucher: Voucher, account_map: Mapping[str, str | DebtorTarget]) -> list[SapLine]:
    """The voucher's non-zero lines, signed and mapped; a customer line needs a customer.

    Zero lines are dropped: SAP refuses a line without an amount, and they change no balance.
    """
    lines: list[SapLine] = []
    for number, line in enumerate(voucher.lines, 1):
        if line.amount == ZERO:
            continue
        target = _target(line.account, account_map)
        debtor, gl = "", target if isinstance(target, str) else target.account
        if isinstance(target, DebtorTarget):
            debtor = line.dim("customer") or ""
            if not debtor:
                raise PermanentError(
                    f"voucher {voucher.key} line {number}: account {line.account} is mapped to a customer "
                    "line ({debtor: true}) but the line has no `customer` dimension",
                    hint="give the mapping line a customer dimension, or map the account to a G/L account",
                )
        signed = line.amount if line.side is Side.DEBIT else -line.amount
        lines.append(
            SapLine(
                number=number,
                gl_account=gl,
                debtor=debtor,
                signed=signed,
                currency=voucher.currency,
                text=line.memo or voucher.summary,
                tax_code=line.dim("tax_code") or "",
                profit_center=line.dim("profit_center") or "",
                cost_center=line.dim("cost_center") or "",
            )
        )
    return lines


def mapping_problems(vouchers: Iterable[Voucher], account_map: Mapping[str, str | DebtorTarget]) -> list[str]:
    """Why each voucher that cannot be put into SAP lines cannot (for ``check``, before any post)."""
    problems: list[str] = []
    for voucher in vouchers:
        try:
            sap_lines(voucher, account_map)
        except PermanentError as exc:
            problems.append(exc.message)
    return problems


def codes_needed(
    vouchers: Iterable[Voucher], account_map: Mapping[str, str | DebtorTarget]
) -> tuple[set[str], set[str]]:
    """The G/L accounts and customer numbers these vouchers would post to (for ``check``)."""
    accounts: set[str] = set()
    customers: set[str] = set()
    for voucher in vouchers:
        for line in voucher.lines:
            target = _target(line.account, account_map)
            if isinstance(target, DebtorTarget):
                customer = line.dim("customer")
                if customer:
                    customers.add(customer)
                if target.account:
                    accounts.add(target.account)
            else:
                accounts.add(target)
    return accounts, customers


def retry_after_seconds(value: str | None) -> float | None:
    """The Retry-After header in seconds when it is a number (the HTTP-date form is ignored)."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None


def chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
