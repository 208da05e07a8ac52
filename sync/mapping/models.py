"""The typed shape of a mapping file (version 1): the single source of ``mappings/schema.json``.

Two kinds of values appear in a mapping:

- **expressions** (``when``, ``debit``, ``date`` …): typed values such as a Decimal, a date or
  a boolean, written like ``amount(order_amount) * 2`` (see sync.mapping.expr);
- **templates** (``account``, ``summary``, ``memo``, dimension values …): text, with optional
  ``{{ expression }}`` holes, e.g. ``销售订单 {{ name }}``.

Every field has a description so editors can autocomplete and explain; unknown keys are
refused (``extra='forbid'``) so a typo never silently does nothing.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from sync.model import ReversalStyle

__all__ = [
    "Expr",
    "HeaderSpec",
    "LineSpec",
    "LookupSpec",
    "MappingSpec",
    "RoundingDifferenceSpec",
    "SummariseSpec",
    "Template",
]

_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _expr_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # YAML read the number as a float; its shortest repr is the literal as written
        # (up to 15 digits), and the expression compiler turns that text into a Decimal.
        text = repr(value)
        if len(text.replace(".", "").replace("-", "").lstrip("0")) > 15:
            raise ValueError("number has too many digits to be read exactly; put it in quotes")
        return text
    return value


def _template_text(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected text, got a boolean; put it in quotes")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        raise ValueError(
            f"{value!r} was read as a number, which may drop digits (1002.10 -> 1002.1); "
            "put it in quotes, e.g. '1002.10'"
        )
    return value


#: An expression evaluated per record to a typed value (Decimal, date, bool, text …).
Expr = Annotated[
    str,
    BeforeValidator(_expr_text),
    WithJsonSchema(
        {
            "type": ["string", "number", "boolean"],
            "description": "expression, e.g. amount(order_amount) or life_status == 'normal'",
        }
    ),
]
#: Text with optional {{ expression }} holes.
Template = Annotated[
    str,
    BeforeValidator(_template_text),
    WithJsonSchema(
        {"type": ["string", "number"], "description": "text with optional {{ expression }} holes"}
    ),
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LookupSpec(_Spec):
    """A lookup table: an inline ``table`` or a ``csv`` file with a key and a value column."""

    table: dict[str, Template] | None = Field(None, description="inline table: key -> value")
    csv: str | None = Field(None, description="CSV file (UTF-8, header row), relative to the mapping file")
    key_column: str = Field("key", description="CSV column holding the key (e.g. crm_account_id)")
    value_column: str = Field("value", description="CSV column holding the value (e.g. erp_customer_code)")
    on_missing: Literal["error", "default"] = Field(
        "error", description="a key not in the table: fail the record (error) or use `default`"
    )
    default: Template | None = Field(
        None,
        description="value when the key is missing and on_missing is default; a template that "
        "can use `key` and the record's fields, e.g. 'C-{{ key }}'",
    )

    @model_validator(mode="after")
    def _one_source(self) -> LookupSpec:
        if (self.table is None) == (self.csv is None):
            raise ValueError("give exactly one of `table` (inline) or `csv` (file)")
        if self.on_missing == "default" and self.default is None:
            raise ValueError("on_missing: default needs a `default:` value")
        return self


class HeaderSpec(_Spec):
    """The voucher header (凭证头)."""

    book: Template = Field(description="account book / 账簿 number, e.g. '001' (Kingdee FAccountBookID)")
    date: Expr = Field(
        description="voucher date (业务日期): an expression giving a date, e.g. date(order_time) "
        "converts CRM epoch ms to the Asia/Shanghai calendar date"
    )
    period: Template | None = Field(None, description="accounting period YYYY-MM; default: the date's month")
    group: Template = Field("记", description="voucher group 凭证字: 记, 收, 付, 转 …")
    summary: Template = Field(description="摘要, e.g. '销售订单 {{ name }} {{ account_id__r }}'")
    currency: str = Field(
        "CNY",
        min_length=3,
        max_length=3,
        description="book currency (ISO 4217); amounts round to its minor unit",
    )


class LineSpec(_Spec):
    """One voucher line (分录): an account and exactly one of debit or credit."""

    account: Template = Field(
        description="account code, e.g. '1122' or \"{{ lookup('bank_accounts', payment_term) }}\""
    )
    debit: Expr | None = Field(None, description="debit amount in the book currency (expression)")
    credit: Expr | None = Field(None, description="credit amount in the book currency (expression)")
    when: Expr | None = Field(None, description="write this line only when true, e.g. discount > 0")
    dims: dict[str, Template] = Field(
        default_factory=dict,
        description="auxiliary dimensions 辅助核算: customer, supplier, department, project, bank_account …; "
        "empty values are left out",
    )
    memo: Template = Field("", description="line memo; default: the voucher summary")
    currency: Template | None = Field(None, description="foreign currency of this line, e.g. USD")
    foreign_amount: Expr | None = Field(None, description="amount in the foreign currency")
    rate: Expr | None = Field(None, description="exchange rate: book amount = foreign amount x rate")
    keep_zero: bool = Field(False, description="keep the line when its amount is 0 (default: leave it out)")
    allow_negative: bool = Field(
        False,
        description="accept a negative amount on this line (default: a negative amount quarantines the "
        "record, naming the line: it usually means the source sent a refund or a sign the mapping misread)",
    )

    @model_validator(mode="after")
    def _one_side(self) -> LineSpec:
        if (self.debit is None) == (self.credit is None):
            raise ValueError("give exactly one of `debit` or `credit`")
        if (self.foreign_amount is None) != (self.currency is None):
            raise ValueError("a foreign-currency line needs both `currency` and `foreign_amount`")
        return self


class SummariseSpec(_Spec):
    """Many records -> one voucher per group: lines with the same account, side and dims are summed."""

    by: dict[str, Expr] = Field(
        min_length=1,
        description="group values, e.g. {date: date(payment_time), "
        "customer: account_id}; usable as names in `summary`",
    )
    summary: Template | None = Field(
        None, description="摘要 of the summarised voucher; may use the group values"
    )
    key: Template | None = Field(None, description="voucher key of the group; default: mapping:stream:values")


class RoundingDifferenceSpec(_Spec):
    """Absorb a small rounding difference (尾差) into one account instead of failing the record."""

    account: Template = Field(description="account for the difference, e.g. '6603.03' 财务费用-尾差")
    max: str = Field("0.05", description="largest difference absorbed, in the book currency, e.g. '0.05'")
    memo: Template = Field("尾差", description="memo of the difference line")

    @field_validator("max", mode="before")
    @classmethod
    def _max_text(cls, value: Any) -> Any:
        return _expr_text(value)


class MappingSpec(_Spec):
    """One mapping file: one business event (e.g. a confirmed sales order) -> one voucher per record."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="crmsync mapping",
        json_schema_extra={"$id": "https://crmsync.dev/schema/mapping-v1.json"},
    )

    version: Literal[1] = Field(description="mapping language version; always 1 for now")
    name: str = Field(
        description="unique mapping name, part of every voucher key, e.g. sales_order_confirmed"
    )
    description: str = Field("", description="what business event this maps, for people")
    source: str = Field(description="source name in config.yaml `sources:`, e.g. crm")
    stream: str = Field(description="stream (CRM object API name) read, e.g. SalesOrderObj")
    id: Template = Field(
        "{{ _id }}", description="the record id (provenance, quarantine); default the `_id` field"
    )
    reference: Template = Field(
        "{{ get('name', '') }}", description="human reference shown to finance, e.g. the order number"
    )
    control_amount: Expr | None = Field(
        None, description="the source amount for control totals, e.g. amount(order_amount)"
    )
    key: Template | None = Field(None, description="voucher key; default: name:stream:record id")
    when: Expr | None = Field(
        None, description="map only records where this is true; others are counted as skipped"
    )
    void_when: Expr = Field(
        "get('life_status') == 'invalid' or get('is_deleted') == true",
        description="the record is voided at the source: reverse what was posted for it",
    )
    hold_when: Expr | None = Field(
        None,
        description="this version waits for approval at the source (e.g. life_status == 'in_change', "
        "变更中): what was posted for the record stands as it is and nothing new is posted until a "
        "version no longer held arrives; counted as skipped",
    )
    revision_fields: list[str] = Field(
        default_factory=list,
        description="source fields that also make a new revision when they change (besides voucher content)",
    )
    reversal_date: Literal["original_if_open", "original", "today"] = Field(
        "original_if_open",
        description="the date of a reversal: the original's date while its period is open in the "
        "destination (else the first day of the first open period after it), always the original's, or "
        "today (China time)",
    )
    zero_amount: Literal["skip", "quarantine"] = Field(
        "skip",
        description="a record whose every line amount is 0: skip it by rule (reason 'zero amount'), or "
        "quarantine it for a person",
    )
    approval: Literal["none", "required"] = Field(
        "none",
        description="required: vouchers wait as awaiting_approval until `crmsync approve` (issue 8)",
    )
    reversal: ReversalStyle = Field(
        ReversalStyle.RED,
        description="how a posted voucher is undone: red (红字, negative amounts) or swap (sides swapped)",
    )
    rounding: Literal["half_up", "half_even", "down", "up", "floor", "ceiling"] = Field(
        "half_up", description="rounding of line amounts to the currency's minor unit"
    )
    lookups: dict[str, LookupSpec] = Field(default_factory=dict, description="named lookup tables")
    let: dict[str, Expr] = Field(
        default_factory=dict,
        description="named values computed once per record, in order, usable by later "
        "expressions, e.g. {gross: amount(order_amount), split: "
        "tax_split(gross, 0.13)}",
    )
    voucher: HeaderSpec = Field(description="the voucher header")
    lines: list[LineSpec] = Field(min_length=2, description="the voucher lines; debits must equal credits")
    summarise: SummariseSpec | None = Field(None, description="sum many records into one voucher per group")
    rounding_difference: RoundingDifferenceSpec | None = Field(
        None, description="absorb a small imbalance into this account (else an unbalanced record fails)"
    )
    account_profiles: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="per destination type (kingdee, sap_s4, …): account -> account used there",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use lower-case letters, digits, _ . - (it becomes part of voucher keys)")
        return value

    @field_validator("let")
    @classmethod
    def _let_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _IDENT.match(name):
                raise ValueError(f"let name {name!r} must be an identifier (letters, digits, _)")
        return value
