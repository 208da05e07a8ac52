"""The canonical voucher: balanced or it does not exist; immutable; carries its provenance."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sync.model import MappingRef, ReversalStyle, Side, SourceRef, Voucher, VoucherLine

SOURCE = SourceRef(
    system="crm",
    stream="SalesOrderObj",
    record_id="5f3a3de57c604a00017dc5ee",
    name="SO-20261103-0001",
    amount=Decimal("1130.00"),
)
MAPPING = MappingRef(name="sales-order-confirmed", file="mappings/fxiaoke-kingdee/sales_order.yaml", line=1)


def order_voucher(**changes: object) -> Voucher:
    fields: dict[str, object] = {
        "key": "sales-order-confirmed:SalesOrderObj:5f3a3de57c604a00017dc5ee",
        "book": "001",
        "date": dt.date(2026, 11, 3),
        "summary": "销售订单 SO-20261103-0001 上海示例科技有限公司",
        "lines": (
            VoucherLine(account="1122", side=Side.DEBIT, amount="1130.00", dims={"customer": "CUST0001"}),
            VoucherLine(account="6001", side=Side.CREDIT, amount="1000.00"),
            VoucherLine(account="2221.01.05", side=Side.CREDIT, amount="130.00"),
        ),
        "sources": (SOURCE,),
        "mapping": MAPPING,
    }
    fields.update(changes)
    return Voucher.model_validate(fields)


def test_a_balanced_voucher_gets_its_period_and_a_content_revision() -> None:
    v = order_voucher()
    assert v.period == "2026-11"
    assert len(v.revision) == 16
    assert v.total == Decimal("1130.00")
    assert v.external_ref == f"{v.key}#{v.revision}"


def test_an_unbalanced_voucher_cannot_be_constructed() -> None:
    lines = (
        VoucherLine(account="1122", side=Side.DEBIT, amount="1130.00"),
        VoucherLine(account="6001", side=Side.CREDIT, amount="1000.00"),
    )
    with pytest.raises(ValidationError, match=r"does not balance: debit 1130\.00 != credit 1000\.00"):
        order_voucher(lines=lines)


def test_a_float_amount_is_refused() -> None:
    with pytest.raises(ValidationError, match="is a float"):
        VoucherLine(account="1122", side=Side.DEBIT, amount=1130.1)


def test_vouchers_are_immutable_all_the_way_down() -> None:
    v = order_voucher()
    with pytest.raises(ValidationError):
        v.summary = "changed"  # type: ignore[misc]
    assert isinstance(v.lines, tuple)
    assert isinstance(v.lines[0].dims, tuple)


def test_the_revision_ignores_provenance_but_not_amounts() -> None:
    base = order_voucher()
    other_source = SOURCE.model_copy(update={"name": "renamed"})
    assert order_voucher(sources=(other_source,)).revision == base.revision
    edited = (
        VoucherLine(account="1122", side=Side.DEBIT, amount="1130.01", dims={"customer": "CUST0001"}),
        VoucherLine(account="6001", side=Side.CREDIT, amount="1000.01"),
        VoucherLine(account="2221.01.05", side=Side.CREDIT, amount="130.00"),
    )
    assert order_voucher(lines=edited).revision != base.revision


def test_red_reversal_negates_amounts_and_keeps_sides() -> None:
    rev = order_voucher().reversal(ReversalStyle.RED, on=dt.date(2026, 12, 1))
    assert rev.key.endswith("~rev")
    assert rev.reversal_of == order_voucher().revision
    assert rev.period == "2026-12"
    assert (rev.lines[0].side, rev.lines[0].amount) == (Side.DEBIT, Decimal("-1130.00"))


def test_swap_reversal_swaps_sides() -> None:
    rev = order_voucher().reversal(ReversalStyle.SWAP)
    assert [ln.side for ln in rev.lines] == [Side.CREDIT, Side.DEBIT, Side.DEBIT]
    assert rev.total == Decimal("1130.00")


def test_public_dict_has_the_documented_shape_with_string_amounts() -> None:
    d = order_voucher().public_dict()
    assert d["date"] == "2026-11-03"
    assert d["source"] == {"system": "crm", "stream": "SalesOrderObj", "id": "5f3a3de57c604a00017dc5ee"}
    assert d["lines"][0] == {
        "account": "1122",
        "debit": "1130.00",
        "credit": "0.00",
        "currency": "CNY",
        "dims": {"customer": "CUST0001"},
        "memo": "",
    }


@given(
    st.lists(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999.99"), places=2),
        min_size=1,
        max_size=8,
    )
)
def test_any_split_of_a_total_into_credit_lines_balances(parts: list[Decimal]) -> None:
    total = sum(parts, Decimal(0))
    lines = [VoucherLine(account="1122", side=Side.DEBIT, amount=total)]
    lines += [VoucherLine(account="6001", side=Side.CREDIT, amount=p) for p in parts]
    v = order_voucher(lines=tuple(lines))
    assert v.total == total
    assert sum((ln.credit for ln in v.lines), Decimal(0)) == total
