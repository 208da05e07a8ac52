"""Property tests: any statement we write, the parsers read back with every cent and the balance."""

from __future__ import annotations

from decimal import Decimal
from xml.sax.saxutils import escape

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.bank.camt import parse_camt
from connectors.bank.mt940 import parse_mt940

cents = st.integers(min_value=1, max_value=10**11).map(lambda c: Decimal(c).scaleb(-2))
lines = st.lists(st.tuples(cents, st.booleans()), min_size=0, max_size=12)
names = (
    st.text(alphabet="上海明远贸易有限公司杭州青禾科技ABC &-", min_size=1, max_size=20)
    .map(str.strip)
    .filter(bool)
)


def _camt(version: str, opening: Decimal, items: list[tuple[Decimal, bool]], payer: str) -> bytes:
    closing = opening + sum((a if c else -a for a, c in items), Decimal(0))
    payer = escape(payer)
    sts = "<Sts><Cd>BOOK</Cd></Sts>" if version >= "07" else "<Sts>BOOK</Sts>"
    dbtr = (
        f"<Dbtr><Pty><Nm>{payer}</Nm></Pty></Dbtr>" if version >= "07" else f"<Dbtr><Nm>{payer}</Nm></Dbtr>"
    )

    def bal(code: str, amount: Decimal) -> str:
        ind = "CRDT" if amount >= 0 else "DBIT"
        return (
            f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">{abs(amount):.2f}</Amt>'
            f"<CdtDbtInd>{ind}</CdtDbtInd><Dt><Dt>2026-11-03</Dt></Dt></Bal>"
        )

    entries = "".join(
        f'<Ntry><Amt Ccy="CNY">{a:.2f}</Amt><CdtDbtInd>{"CRDT" if c else "DBIT"}</CdtDbtInd>{sts}'
        f"<BookgDt><Dt>2026-11-03</Dt></BookgDt><AcctSvcrRef>R{i}</AcctSvcrRef><BkTxCd/>"
        f"<NtryDtls><TxDtls><RltdPties>{dbtr}</RltdPties><RmtInf><Ustrd>SO-{i}</Ustrd></RmtInf></TxDtls></NtryDtls>"
        "</Ntry>"
        for i, (a, c) in enumerate(items)
    )
    return (
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>M</MsgId><CreDtTm>2026-11-04T06:00:00</CreDtTm></GrpHdr><Stmt><Id>S</Id>"
        "<Acct><Id><Othr><Id>755912345610901</Id></Othr></Id></Acct>"
        f"{bal('OPBD', opening)}{bal('CLBD', closing)}{entries}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["02", "04", "07", "08"]), cents, lines, names)
def test_camt_roundtrip(
    version: str, opening: Decimal, items: list[tuple[Decimal, bool]], payer: str
) -> None:
    (stmt,) = parse_camt(_camt(version, opening, items, payer), "gen.xml")
    assert [(t.amount, t.direction == "credit") for t in stmt.transactions] == items
    assert all(t.payer_name == payer for t in stmt.transactions if t.direction == "credit")
    assert stmt.opening + sum(t.signed_amount for t in stmt.transactions) == stmt.closing


def _mt(amount: Decimal) -> str:
    return f"{amount:.2f}".replace(".", ",")


@settings(max_examples=40, deadline=None)
@given(cents, st.lists(st.tuples(cents, st.sampled_from(["C", "D", "RC", "RD"])), min_size=1, max_size=10))
def test_mt940_roundtrip(opening: Decimal, items: list[tuple[Decimal, str]]) -> None:
    closing = opening + sum((a if m in {"C", "RD"} else -a for a, m in items), Decimal(0))
    body = "".join(
        f":61:2611031103{m}{_mt(a)}NTRFNONREF//B{i}\n:86:line {i}\n" for i, (a, m) in enumerate(items)
    )
    text = (
        f":20:S1\n:25:755912345610901\n:28C:1/1\n:60F:C261102CNY{_mt(opening)}\n{body}"
        f":62F:{'C' if closing >= 0 else 'D'}261103CNY{_mt(abs(closing))}\n-\n"
    )
    (stmt,) = parse_mt940(text.encode(), "gen.sta")
    assert [(t.amount, t.raw["status"]) for t in stmt.transactions] == items
    assert stmt.opening + sum(t.signed_amount for t in stmt.transactions) == stmt.closing


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(cents, st.integers(0, 999), st.booleans()), min_size=1, max_size=15))
def test_wechat_bill_roundtrip(rows: list[tuple[Decimal, int, bool]]) -> None:
    from connectors.bank.bills import parse_wechat_bill

    header = (
        "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
        "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,"
        "商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
    )
    lines = [header]
    settled = refunded = fees = Decimal(0)
    for i, (amount, fee_cents, refund) in enumerate(rows):
        fee = Decimal(fee_cents).scaleb(-2)
        settle, back = (Decimal(0), amount) if refund else (amount, Decimal(0))
        fee = -fee if refund else fee
        settled, refunded, fees = settled + settle, refunded + back, fees + fee
        cells = [
            "2026-11-03 09:15:22",
            "wx8888",
            "1900000109",
            "",
            "",
            f"42000{i:05d}",
            f"SO-20261103-{i:04d}",
            "oUpF8",
            "NATIVE",
            "REFUND" if refund else "SUCCESS",
            "CMB_DEBIT",
            "CNY",
            f"{settle:.2f}",
            "0.00",
            f"5030{i:05d}" if refund else "0",
            "",
            f"{back:.2f}",
            "0.00",
            "",
            "",
            "耗材",
            "",
            f"{fee:.2f}",
            "0.60%",
            f"{settle:.2f}",
            f"{back:.2f}",
            "",
        ]
        lines.append(",".join("`" + c for c in cells))
    lines.append(
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
    )
    lines.append(
        ",".join(
            "`" + c
            for c in (
                str(len(rows)),
                f"{settled:.2f}",
                f"{refunded:.2f}",
                "0.00",
                f"{fees:.2f}",
                f"{settled:.2f}",
                f"{refunded:.2f}",
            )
        )
    )
    parsed = parse_wechat_bill("\n".join(lines).encode("gb18030"), "gen.csv")
    assert [(t.amount, t.direction == "debit") for t in parsed] == [(a, r) for a, _, r in rows]
    assert sum((t.fee or Decimal(0) for t in parsed), Decimal(0)) == fees
