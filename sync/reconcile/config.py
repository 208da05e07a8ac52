"""The ``reconcile:`` section of config.yaml, validated here (AppConfig keeps it as a free dict)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sync.crm import CrmFields
from sync.model import ReversalStyle
from sync.money import parse_amount

__all__ = ["CrmFieldsConfig", "ReconcileConfig", "load_reconcile_config"]

#: Fxiaoke 回款编号 (20261101-000001) and 订单编号 (SO-20261101-0001), separators optional
DEFAULT_PATTERNS = (r"SO[-_ ]?\d{8}[-_ ]?\d{4}(?![0-9])", r"(?<![0-9])\d{8}[-_ ]?\d{6}(?![0-9])")


class CrmFieldsConfig(BaseModel):
    """``reconcile.crm_fields``: where the CRM records keep what matching needs (Fxiaoke names).

    The keys are this section's own (kept as users wrote them); ``fields`` turns them into
    the read model's ``CrmFields``, so reconciliation counts exactly the payments and orders
    the reports and the mappings count.
    """

    model_config = ConfigDict(extra="forbid")

    payment_stream: str = "PaymentObj"
    order_stream: str = "SalesOrderObj"
    id: str = "_id"
    payment_number: str = "name"
    payment_amount: str = "payment_amount"
    payment_date: str = Field("payment_time", description="epoch ms (Fxiaoke) or YYYY-MM-DD")
    payment_customer: str = "account_id__r"
    payment_order_id: str = "order_id"
    payment_order_number: str = "order_id__r"
    payment_payer_account: str = Field(
        "", description="field with the payer's bank account, if the CRM has one"
    )
    order_number: str = "name"
    order_amount: str = "order_amount"
    order_date: str = "order_time"
    order_customer: str = "account_id__r"
    statuses: tuple[str, ...] | None = Field(
        None, description="life_status values that count (default: reports.statuses, else normal)"
    )
    voided_field: str = Field(
        "life_status", description="a record whose field holds a voided value never counts"
    )
    voided_values: tuple[str, ...] = ("invalid", "ineffective")

    def fields(self, statuses: tuple[str, ...] = ("normal",)) -> CrmFields:
        """The read model's field config; ``statuses`` when this section names none."""
        return CrmFields(
            payment_stream=self.payment_stream,
            order_stream=self.order_stream,
            id=self.id,
            order_number=self.order_number,
            order_amount=self.order_amount,
            order_date=self.order_date,
            order_customer=self.order_customer,
            payment_number=self.payment_number,
            payment_amount=self.payment_amount,
            payment_date=self.payment_date,
            payment_customer=self.payment_customer,
            payment_order_id=self.payment_order_id,
            payment_order_number=self.payment_order_number,
            payer_account=self.payment_payer_account,
            statuses=self.statuses or statuses,
            excluded_field=self.voided_field,
            excluded_values=self.voided_values,
        )


class ReconcileConfig(BaseModel):
    """Matching rules, tolerances and the accounts reconciliation books to."""

    model_config = ConfigDict(extra="forbid")

    bank_sources: list[str] = Field(default_factory=list, description="names of bank/platform sources")
    crm_source: str | None = Field(
        None, description="name of the CRM source (default: the first fxiaoke/files)"
    )
    crm_fields: CrmFieldsConfig = Field(default_factory=CrmFieldsConfig)
    reference_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PATTERNS),
        description="regexes for our order/payment numbers in remittance text",
    )
    tolerance: Decimal = Field(Decimal("0"), description="underpayment accepted (bank charges), in yuan")
    tolerance_percent: Decimal = Field(Decimal("0"), description="underpayment accepted, % of the amount")
    date_window_days: int = Field(
        15, ge=0, le=366, description="CRM payment date within this many days of the bank date"
    )
    max_combination: int = Field(
        4, ge=1, le=8, description="most payments one receipt may pay (or parts one payment)"
    )
    claimed_not_received_days: int = Field(7, ge=0, le=366)
    book: str = Field("default", description="book (账簿) of the vouchers")
    voucher_group: str = Field("收", description="凭证字 of receipt vouchers")
    suspense_account: str = Field("2241.99", description="其他应付款-待处理")
    fee_account: str = Field("6603.02", description="财务费用-手续费")
    default_bank_account: str = Field("1002", description="ledger account of a bank account not listed below")
    bank_accounts: dict[str, str] = Field(
        default_factory=dict, description="bank account number -> ledger account"
    )
    clearing_accounts: dict[str, str] = Field(
        default_factory=lambda: {"alipay_bill": "1012.01", "wechat_bill": "1012.02", "stripe": "1012.04"},
        description="platform -> 其他货币资金 clearing account its sales were booked to",
    )
    platform_payers: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "stripe": ["STRIPE"],
            "alipay_bill": ["支付宝", "ALIPAY"],
            "wechat_bill": ["财付通", "TENPAY", "微信"],
        },
        description="words in the bank payer name that mark a platform settlement",
    )

    related_payers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="payer as the bank names it -> the customers it may pay for (a parent company, "
        "a group treasury): its receipts may settle their payments and orders",
    )

    post_vouchers: bool = Field(
        False,
        description="book the vouchers into the outbox on every `crmsync sync` (and `reconcile --post`)",
    )
    reversal_style: ReversalStyle = Field(
        ReversalStyle.RED, description="how a reconciliation voucher that no longer holds is undone"
    )

    @field_validator("tolerance", "tolerance_percent", mode="before")
    @classmethod
    def _money(cls, value: Any) -> Any:
        return parse_amount(value, field="tolerance")

    @field_validator("reference_patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"reference pattern {pattern!r} is not a valid regex: {exc}") from None
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.tolerance < 0 or self.tolerance_percent < 0:
            raise ValueError("tolerance must not be negative")
        return self

    def compiled_patterns(self) -> list[re.Pattern[str]]:
        return [re.compile(p, re.IGNORECASE) for p in self.reference_patterns]

    def bank_ledger_account(self, account: str) -> str:
        return self.bank_accounts.get(account, self.default_bank_account)


def load_reconcile_config(section: dict[str, Any], config_path: Path) -> ReconcileConfig:
    """The validated section, or ConfigProblems locating each bad key by file, line, column."""
    from sync.config.sections import load_section

    return load_section(ReconcileConfig, section, "reconcile", config_path)
