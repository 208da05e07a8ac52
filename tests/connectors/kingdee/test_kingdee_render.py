"""Voucher -> GL_VOUCHER Save body: golden files for an order and a payment, and the rules."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.kingdee.render import RenderError, RenderSettings, render_voucher
from connectors.kingdee.wire import dumps, loads
from sync.destination import short_ref
from sync.model import ReversalStyle
from tests.connectors.kingdee.conftest import order_voucher, payment_voucher

GOLDEN = Path(__file__).parent / "golden"
SETTINGS = RenderSettings(account_book="001")


def _golden(name: str, payload: object) -> None:
    """Compare with the golden file; ``UPDATE_GOLDEN=1`` rewrites it (review the diff)."""
    path = GOLDEN / name
    text = dumps(payload, indent=2) + "\n"
    if os.environ.get("UPDATE_GOLDEN") or not path.exists():
        path.write_text(text, encoding="utf-8")
    assert loads(text) == loads(path.read_text(encoding="utf-8"))
    assert text == path.read_text(encoding="utf-8")


def test_order_voucher_renders_to_the_golden_save_model() -> None:
    _golden("order_voucher.json", render_voucher(order_voucher(), SETTINGS))


def test_payment_voucher_renders_to_the_golden_save_model() -> None:
    _golden("payment_voucher.json", render_voucher(payment_voucher(), SETTINGS))


def test_amounts_go_out_as_json_numbers_with_their_cents() -> None:
    text = dumps(render_voucher(order_voucher(), SETTINGS))
    assert '"FDEBIT":11300.00' in text
    assert '"FCREDIT":1300.00' in text
    assert "11300.0," not in text


def test_one_side_is_filled_and_the_other_is_zero() -> None:
    entries = render_voucher(order_voucher(), SETTINGS)["FEntity"]
    assert [(e["FDEBIT"], e["FCREDIT"]) for e in entries] == [
        (Decimal("11300.00"), 0),
        (0, Decimal("10000.00")),
        (0, Decimal("1300.00")),
    ]


def test_a_red_reversal_keeps_each_line_on_its_side_with_a_negative_amount() -> None:
    red = order_voucher().reversal(ReversalStyle.RED, on=dt.date(2025, 7, 2))
    model = render_voucher(red, SETTINGS)
    first = model["FEntity"][0]
    assert (first["FDEBIT"], first["FCREDIT"], first["FAMOUNTFOR"]) == (
        Decimal("-11300.00"),
        0,
        Decimal("-11300.00"),
    )
    second = model["FEntity"][1]
    assert (second["FDEBIT"], second["FCREDIT"]) == (0, Decimal("-10000.00"))
    assert (model["FYEAR"], model["FPERIOD"], model["FDate"]) == (2025, 7, "2025-07-02")


def test_a_swapped_reversal_moves_amounts_to_the_other_column_positive() -> None:
    swap = order_voucher().reversal(ReversalStyle.SWAP)
    first = render_voucher(swap, SETTINGS)["FEntity"][0]
    assert (first["FDEBIT"], first["FCREDIT"]) == (0, Decimal("11300.00"))


def test_the_reference_goes_to_a_configured_custom_field_instead_of_fbillno() -> None:
    voucher = order_voucher()
    model = render_voucher(voucher, RenderSettings(account_book="001", external_ref_field="F_XXX_SyncKey"))
    assert model["F_XXX_SyncKey"] == voucher.external_ref
    assert "FBillNo" not in model


def test_a_reference_too_long_for_the_field_is_shortened_stably() -> None:
    voucher = order_voucher().model_copy(
        update={"key": "summary:order-confirmed:" + "上海某某科技有限公司" * 8}
    )
    model = render_voucher(voucher, SETTINGS)
    assert model["FBillNo"] == short_ref(voucher.external_ref, 80)
    assert len(model["FBillNo"]) <= 80 and model["FBillNo"].startswith("CS")


def test_a_zero_tax_line_is_left_out() -> None:
    voucher = order_voucher(gross="10000.00", net="10000.00", tax="0.00")
    assert [e["FACCOUNTID"]["FNumber"] for e in render_voucher(voucher, SETTINGS)["FEntity"]] == [
        "1122",
        "6001",
    ]


def test_a_dimension_without_a_flex_map_entry_is_refused_with_the_fix() -> None:
    voucher = payment_voucher()
    line = voucher.lines[1].model_copy(
        update={"dims": (("customer", "CUST0001"), ("project", "PRJ-2025-08"))}
    )
    voucher = voucher.model_copy(update={"lines": (voucher.lines[0], line)})
    with pytest.raises(
        RenderError, match=r"dimension 'project' has no entry in flex_map.*FDETAILID__FF100002"
    ):
        render_voucher(voucher, SETTINGS)


def test_a_currency_without_a_currency_map_entry_is_refused_with_the_fix() -> None:
    voucher = payment_voucher()
    usd = tuple(
        ln.model_copy(
            update={"currency": "USD", "amount_foreign": Decimal("1580.00"), "rate": Decimal("7.1519")}
        )
        for ln in voucher.lines
    )
    with pytest.raises(RenderError, match="currency USD has no entry in currency_map"):
        render_voucher(voucher.model_copy(update={"lines": usd}), SETTINGS)


def test_a_foreign_currency_line_carries_original_amount_and_rate() -> None:
    voucher = payment_voucher()
    usd = tuple(
        ln.model_copy(
            update={"currency": "USD", "amount_foreign": Decimal("1580.00"), "rate": Decimal("7.1519")}
        )
        for ln in voucher.lines
    )
    settings = RenderSettings(account_book="001", currency_map={"CNY": "PRE001", "USD": "PRE007"})
    entry = render_voucher(voucher.model_copy(update={"lines": usd}), settings)["FEntity"][0]
    assert entry["FCURRENCYID"] == {"FNumber": "PRE007"}
    assert (entry["FAMOUNTFOR"], entry["FEXCHANGERATE"], entry["FDEBIT"]) == (
        Decimal("1580.00"),
        Decimal("7.1519"),
        Decimal("11300.00"),
    )
