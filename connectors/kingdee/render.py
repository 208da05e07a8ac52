"""Canonical voucher -> GL_VOUCHER Save model (docs/specs/kingdee.md §4 and wire example B).

Rules that finance will ask about:

- ``FDEBIT``/``FCREDIT`` are book-currency amounts; exactly one of them is filled on a line
  and the side is never expressed by a sign.
- A red reversal (红字冲销) keeps each line on its original side with a *negative* amount,
  which is how Kingdee itself writes a red voucher (the amount in red in the same column):
  a debit line of -11300.00 is ``FDEBIT: -11300.00, FCREDIT: 0``, ``FAMOUNTFOR: -11300.00``.
  A swapped-sides reversal arrives with positive amounts and needs nothing special.
- ``FAMOUNTFOR`` is the original-currency amount (the book amount for a CNY line) and
  ``FEXCHANGERATE`` its rate (1 for the book currency).
- Dimensions go to ``FDetailID`` under the key the tenant's flex map names
  (customer -> ``FDETAILID__FFLEX6``); a dimension without an entry cannot be rendered.
- Lines with a zero amount (a 0% tax line) are left out: Kingdee refuses an entry whose
  debit and credit are both zero, and such a line changes no balance.
- The voucher's external reference goes into ``FBillNo`` or the configured custom header
  field, shortened with ``short_ref`` when it is longer than the field holds. With
  ``external_ref_field: FEXPLANATION`` (a tenant with neither) it leads every entry's 摘要
  instead, followed by a space: the last resort, found again by a prefix match.
- The Model's keys come in Kingdee's own order, FDate after FAccountBookID and FEntity: a
  live tenant is reported to honour FDate only then, and to put the voucher in the current
  period otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sync.destination import short_ref
from sync.model import Side, Voucher, VoucherLine

__all__ = ["RATE_TYPE", "REF_MAX_LEN", "RenderError", "RenderSettings", "render_voucher", "save_options"]

#: the standard fixed rate type (汇率类型 固定汇率)
RATE_TYPE = "HLTX01_SYS"
#: longest reference we put in the external-reference field (FBillNo is nvarchar(80) on the
#: sites we know of; BOS text fields default to 255, we keep to the smaller one everywhere)
REF_MAX_LEN = 80
#: 摘要 longer than this is cut (FEXPLANATION is nvarchar(255))
EXPLANATION_MAX_LEN = 255
#: the entry field that carries the reference as a prefix when no header field can
EXPLANATION_FIELD = "FEXPLANATION"


class RenderError(ValueError):
    """The voucher cannot be expressed for this tenant (unknown currency or dimension)."""


@dataclass(frozen=True)
class RenderSettings:
    """The tenant-specific parts of rendering (from the connector's config)."""

    account_book: str
    voucher_group: str = "PRE001"
    currency_map: Mapping[str, str] = field(default_factory=lambda: {"CNY": "PRE001"})
    flex_map: Mapping[str, str] = field(default_factory=lambda: {"customer": "FDETAILID__FFLEX6"})
    external_ref_field: str = "FBillNo"
    auto_submit_audit: bool = False

    def reference(self, voucher: Voucher) -> str:
        return external_reference(voucher.external_ref)

    @property
    def ref_in_explanation(self) -> bool:
        """The reference leads each entry's 摘要 instead of filling a header field."""
        return self.external_ref_field.upper() == EXPLANATION_FIELD


def external_reference(full_ref: str) -> str:
    """What the external-reference field holds for a voucher reference."""
    return short_ref(full_ref, REF_MAX_LEN)


def save_options(settings: RenderSettings) -> dict[str, Any]:
    """The Save/BatchSave ``data`` keys besides ``Model`` (wire example B)."""
    return {
        "NeedUpDateFields": [],
        "NeedReturnFields": [
            "FVOUCHERID",
            "FBillNo" if settings.ref_in_explanation else settings.external_ref_field,
            "FVOUCHERGROUPNO",
        ],
        "IsDeleteEntry": "true",
        "SubSystemId": "",
        "IsVerifyBaseDataField": "true",
        "IsEntryBatchFill": "true",
        "ValidateFlag": "true",
        "NumberSearch": "true",
        "IsAutoAdjustField": "false",
        "InterationFlags": "",
        "IgnoreInterationFlag": "true",
        "IsControlPrecision": "false",
        "ValidateRepeatJson": "false",
        "IsAutoSubmitAndAudit": "true" if settings.auto_submit_audit else "false",
    }


def render_voucher(voucher: Voucher, settings: RenderSettings) -> dict[str, Any]:
    """The ``Model`` object for one voucher."""
    year, month = (int(part) for part in voucher.period.split("-"))
    model: dict[str, Any] = {"FVOUCHERID": 0}
    if not settings.ref_in_explanation:
        model[settings.external_ref_field] = settings.reference(voucher)
    model.update(
        {
            "FAccountBookID": {"FNumber": settings.account_book},
            "FVOUCHERGROUPID": {"FNumber": settings.voucher_group},
            "FATTACHMENTS": 0,
            "FISADJUSTVOUCHER": "false",
            "FEntity": [
                _entry(voucher, line, number, settings)
                for number, line in enumerate(voucher.lines, 1)
                if not _empty(line)
            ],
            # after FAccountBookID and FEntity, or Kingdee books it in the current period
            "FDate": voucher.date.isoformat(),
            "FBUSDATE": voucher.date.isoformat(),
            "FYEAR": year,
            "FPERIOD": month,
        }
    )
    return model


def explanation(voucher: Voucher, line: VoucherLine, settings: RenderSettings) -> str:
    """An entry's 摘要: the line memo (or voucher summary), led by the reference when it carries it."""
    text = line.memo or voucher.summary
    if settings.ref_in_explanation:
        text = f"{settings.reference(voucher)} {text}"
    return text[:EXPLANATION_MAX_LEN]


def _empty(line: VoucherLine) -> bool:
    """A line with nothing on it (0% tax): Kingdee refuses entries with both sides zero."""
    return line.amount == 0 and not line.amount_foreign


def _entry(voucher: Voucher, line: VoucherLine, number: int, settings: RenderSettings) -> dict[str, Any]:
    currency = settings.currency_map.get(line.currency)
    if currency is None:
        raise RenderError(
            f"line {number}: currency {line.currency} has no entry in currency_map "
            f"(known: {', '.join(sorted(settings.currency_map)) or 'none'}); add e.g. "
            f"currency_map: {{{line.currency}: PRE007}} with the 币别 code from Kingdee"
        )
    amount = line.amount  # book currency; negative only on a red reversal line
    foreign = line.amount_foreign if line.amount_foreign is not None else amount
    rate = line.rate if line.rate is not None else Decimal(1)
    entry: dict[str, Any] = {
        "FEXPLANATION": explanation(voucher, line, settings),
        "FACCOUNTID": {"FNumber": line.account},
    }
    detail = _detail(line, number, settings)
    if detail:
        entry["FDetailID"] = detail
    entry.update(
        {
            "FCURRENCYID": {"FNumber": currency},
            "FEXCHANGERATETYPE": {"FNumber": RATE_TYPE},
            "FEXCHANGERATE": rate,
            "FAMOUNTFOR": foreign,
            "FDEBIT": amount if line.side is Side.DEBIT else Decimal(0),
            "FCREDIT": amount if line.side is Side.CREDIT else Decimal(0),
        }
    )
    return entry


def _detail(line: VoucherLine, number: int, settings: RenderSettings) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    for name, value in line.dims:
        key = settings.flex_map.get(name)
        if key is None:
            raise RenderError(
                f"line {number} (account {line.account}): dimension {name!r} has no entry in flex_map "
                f"(known: {', '.join(sorted(settings.flex_map)) or 'none'}); add e.g. "
                f"flex_map: {{{name}: FDETAILID__FF100002}} with the key Kingdee uses for it"
            )
        detail[key] = {"FNumber": value}
    return detail
