"""Kingdee as a live tenant is reported to behave (spec kingdee.md, addendum 2026-12).

Each quirk is a switch of the fake: ExecuteBillQuery hiding vouchers that are only saved
(status A), a coding rule (编码规则) that overwrites FBillNo, and FDate honoured only after
FAccountBookID and FEntity. The destination must find every voucher it saved in any of them,
or stop before it saves one it could not find again.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from connectors.kingdee.destination import FORM, KingdeeDestination
from connectors.kingdee.render import RenderSettings, render_voucher
from sync.destination import Outcome
from sync.errors import ConfigurationError
from tests.connectors.kingdee.conftest import ACCOUNTS, CUSTOMERS, destination_for, order_voucher
from tests.fakes.kingdee import FakeKingdee

JULY_1ST = dt.date(2026, 7, 1)


def _fake(**switches: object) -> FakeKingdee:
    return FakeKingdee(accounts=ACCOUNTS, customers=CUSTOMERS, today=JULY_1ST, **switches)  # type: ignore[arg-type]


def _saved(destination: KingdeeDestination) -> str:
    """Save the standard order voucher through ``destination``; its external reference."""
    voucher = order_voucher()
    destination.post([voucher])
    return voucher.external_ref


def test_fdate_before_the_book_and_entries_lands_in_the_current_period_in_the_fake() -> None:
    model = render_voucher(order_voucher(), RenderSettings(account_book="001"))
    early = {"FDate": model["FDate"], **{k: v for k, v in model.items() if k != "FDate"}}
    with _fake() as fake:
        fake.operate("Save", {"data": {"Model": early}})
        assert fake.vouchers[0].date == JULY_1ST  # what the live tenant was seen to do


def test_our_model_puts_fdate_after_the_book_and_the_entries_so_the_voucher_keeps_its_period() -> None:
    keys = list(render_voucher(order_voucher(), RenderSettings(account_book="001")))
    assert keys.index("FDate") > keys.index("FAccountBookID")
    assert keys.index("FDate") > keys.index("FEntity")
    with _fake() as fake:
        [result] = destination_for(fake).post([order_voucher()])
        assert result.outcome is Outcome.POSTED
        assert fake.vouchers[0].date == dt.date(2025, 6, 18)


def test_a_saved_voucher_hidden_from_an_unfiltered_query_is_found_by_naming_the_statuses() -> None:
    with _fake(hide_saved="unless_status_filter") as fake:
        destination = destination_for(fake)
        ref = _saved(destination)
        assert destination.client.query(FORM, ["FVOUCHERID"], f"FBillNo='{ref}'") == []  # the quirk
        found = destination.lookup([ref])
        assert found[ref].number == "记-1" and found[ref].total == Decimal("11300.00")
        filters = [
            body["data"]["FilterString"] for service, _, body in fake.requests if "BillQuery" in service
        ]
        assert "FDocumentStatus IN ('Z','A','B','C','D')" in filters[-1]


def test_where_even_a_status_filter_hides_it_view_by_number_finds_it_after_a_lost_answer() -> None:
    with _fake(hide_saved="always") as fake:
        destination = destination_for(fake)
        ref = _saved(destination)
        assert destination.lookup([ref]) == {}  # the cheap look-up before a first send
        views = fake.calls["View"]
        found = destination.lookup([ref], thorough=True)
        assert found[ref].erp_id == str(fake.vouchers[0].id) and found[ref].total == Decimal("11300.00")
        assert fake.calls["View"] == views + 1


def test_lookup_by_view_always_finds_hidden_vouchers_before_a_first_send_too() -> None:
    with _fake(hide_saved="always") as fake:
        voucher = order_voucher()
        destination_for(fake).post([voucher])
        found = destination_for(fake, lookup_by_view="always").lookup([voucher.external_ref])
        assert found[voucher.external_ref].number == "记-1"


def test_view_of_a_voucher_in_another_book_is_not_ours() -> None:
    with _fake(hide_saved="always", books=("001", "002")) as fake:
        voucher = order_voucher()
        destination_for(fake, account_book="002").post([voucher])
        assert destination_for(fake).lookup([voucher.external_ref], thorough=True) == {}


def test_a_coding_rule_that_overwrites_fbillno_stops_the_run_before_another_voucher_is_saved() -> None:
    with _fake(coding_rule=True) as fake:
        destination = destination_for(fake)
        [first] = destination.post([order_voucher(1)])
        assert first.outcome is Outcome.POSTED  # it is in Kingdee: recorded, not lost
        with pytest.raises(ConfigurationError, match="coding rule") as raised:
            destination.post([order_voucher(2)])
        assert "external_ref_field" in (raised.value.hint or "")
        assert len(fake.vouchers) == 1


def test_with_a_custom_reference_field_a_coding_rule_changes_nothing() -> None:
    with _fake(coding_rule=True, hide_saved="unless_status_filter") as fake:
        destination = destination_for(fake, external_ref_field="F_XXX_SyncKey")
        vouchers = [order_voucher(i) for i in range(1, 4)]
        results = destination.post(vouchers)
        assert {r.outcome for r in results} == {Outcome.POSTED}
        assert all(str(v.field("FBillNo")).startswith("JZPZ2025") for v in fake.vouchers)
        found = destination_for(fake, external_ref_field="F_XXX_SyncKey").lookup(
            [v.external_ref for v in vouchers]
        )
        assert sorted(found) == sorted(v.external_ref for v in vouchers)


def test_fexplanation_carries_the_reference_as_a_prefix_and_is_found_by_it_exactly() -> None:
    with _fake(coding_rule=True) as fake:
        destination = destination_for(fake, external_ref_field="FEXPLANATION")
        voucher = order_voucher()
        destination.post([voucher])
        ref = voucher.external_ref
        assert all(e.explanation.startswith(ref + " ") for e in fake.vouchers[0].entries)
        # "_" is a LIKE wildcard: a reference differing there must not be taken for ours
        lookalike = ref.replace("order-confirmed", "order_confirmed")
        found = destination_for(fake, external_ref_field="FEXPLANATION").lookup([ref, lookalike])
        assert list(found) == [ref] and found[ref].total == Decimal("11300.00")
