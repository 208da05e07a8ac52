"""lookup by external reference: paging, quote escaping, a custom reference field."""

from __future__ import annotations

from connectors.kingdee.auth import Credentials, SignatureAuth
from connectors.kingdee.client import KingdeeClient, quote
from connectors.kingdee.destination import KingdeeDestination
from connectors.kingdee.render import RenderSettings
from tests.connectors.kingdee.conftest import destination_for, order_voucher
from tests.fakes.kingdee import FakeKingdee


def _paged(fake: FakeKingdee, page_size: int, **settings: str) -> KingdeeDestination:
    creds = Credentials(fake.acct_id, fake.username, fake.app_id, fake.app_secret)
    client = KingdeeClient(fake.url, SignatureAuth(creds), timeout=2.0, page_size=page_size)
    return KingdeeDestination(client, RenderSettings(account_book="001", **settings))


def test_quotes_are_doubled_in_filter_literals() -> None:
    assert quote("O'Brien's 订单") == "'O''Brien''s 订单'"


def test_lookup_reads_every_page(fake: FakeKingdee) -> None:
    vouchers = [order_voucher(i) for i in range(1, 8)]
    destination_for(fake).post(vouchers)
    before = fake.calls["ExecuteBillQuery"]
    found = _paged(fake, page_size=3).lookup([v.external_ref for v in vouchers])
    assert sorted(found) == sorted(v.external_ref for v in vouchers)
    assert [found[v.external_ref].number for v in vouchers] == [f"记-{i}" for i in range(1, 8)]
    # one row per entry (3 per voucher, with their debits): 21 rows in pages of 3, then an
    # empty page, then the 凭证字 name
    assert fake.calls["ExecuteBillQuery"] - before == 7 + 1 + 1


def test_a_page_exactly_full_asks_for_one_more_page(fake: FakeKingdee) -> None:
    vouchers = [order_voucher(i) for i in range(1, 7)]
    destination_for(fake).post(vouchers)
    before = fake.calls["ExecuteBillQuery"]
    assert len(_paged(fake, page_size=3).lookup([v.external_ref for v in vouchers])) == 6
    assert fake.calls["ExecuteBillQuery"] - before == 6 + 1 + 1  # 18 entry rows: 6 full pages, 0


def test_a_reference_with_a_quote_is_found_and_injects_nothing(fake: FakeKingdee) -> None:
    tricky = order_voucher().model_copy(update={"key": "order:O'Brien' OR FBillNo<>'x"})
    destination = destination_for(fake)
    destination.post([tricky, order_voucher(2)])
    found = destination.lookup([tricky.external_ref])
    assert list(found) == [tricky.external_ref]
    _, _, body = [r for r in fake.requests if r[0].endswith("ExecuteBillQuery")][-1]
    assert "FBillNo IN ('order:O''Brien'' OR FBillNo<>''x#" in body["data"]["FilterString"]


def test_lookup_of_unknown_references_finds_nothing(fake: FakeKingdee) -> None:
    assert destination_for(fake).lookup([order_voucher().external_ref]) == {}


def test_lookup_by_a_custom_reference_field(fake: FakeKingdee) -> None:
    destination = destination_for(fake, external_ref_field="F_XXX_SyncKey")
    voucher = order_voucher()
    destination.post([voucher])
    assert fake.count_by_ref(voucher.external_ref, "F_XXX_SyncKey") == 1
    assert fake.vouchers[0].field("FBillNo").startswith("JZPZ")  # Kingdee's own coding rule numbered it
    assert voucher.external_ref in destination.lookup([voucher.external_ref])


def test_a_long_reference_is_looked_up_by_its_short_form(fake: FakeKingdee) -> None:
    voucher = order_voucher().model_copy(update={"key": "summary:order-confirmed:2025-06-18:" + "客户" * 40})
    destination = destination_for(fake)
    destination.post([voucher])
    assert list(destination.lookup([voucher.external_ref])) == [voucher.external_ref]
