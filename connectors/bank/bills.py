"""Alipay (支付宝) and WeChat Pay (微信支付) trade bills (对账单 CSV), parsed by header name.

Column order has changed between bill versions, so every column is found by its header
text. Both files carry their own control totals (Alipay ``#交易合计…``/``#退款合计…``
trailer lines, WeChat the summary row after the details): the parsed rows must add up
to them or the file books nothing. Amounts are yuan strings; WeChat prefixes every cell
with a backtick and Alipay ends ID cells with a tab, both for Excel's sake; both are
stripped. Files come GBK-encoded from the platforms and UTF-8 after an Excel round trip;
both are accepted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from decimal import Decimal

from sync.banking import CREDIT, DEBIT, BankTransaction, StatementError, stable_id
from sync.money import ZERO, MoneyError, format_amount, parse_amount

__all__ = ["parse_alipay_bill", "parse_wechat_bill"]


def _text(data: bytes, source: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise StatementError(source, "bill is neither UTF-8 nor GBK/GB18030 text")


def _clean(cell: str) -> str:
    return cell.strip().lstrip("`").strip().rstrip("\t").strip()


def _amount(row: dict[str, str], column: str, source: str, line: int) -> Decimal:
    raw = row.get(column, "")
    if raw in {"", "-"}:
        return ZERO
    try:
        return parse_amount(raw, field=column)
    except MoneyError as exc:
        raise StatementError(source, f"line {line}: {exc}") from None


def _when(value: str, source: str, line: int, column: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise StatementError(source, f"line {line}: {column} {value!r} is not a date") from None


#: a column only a person's own export has (merchant bills say 交易类型/业务类型, never income/expense)
_PERSONAL_MARK = "收/支"
_MERCHANT_BILL = {
    "WeChat Pay": "the merchant trade bill (交易账单, type ALL) from 商户平台 pay.weixin.qq.com or the "
    "downloadbill API",
    "Alipay": "the merchant bill (业务明细) from 商家中心 / the 账单下载 API (bill_type trade)",
}


def _refuse_personal(rows: list[list[str]], source: str, platform: str) -> None:
    """A person's own export (微信支付账单明细, 支付宝交易记录明细) is refused saying so: it has no
    fees, no merchant order numbers and no control totals, so nothing in it can be booked."""
    for row in rows:
        cells = {_clean(c) for c in row}
        if _PERSONAL_MARK in cells and ("交易对方" in cells or "交易时间" in cells):
            raise StatementError(
                source,
                f"this is a personal {platform} export (its 收/支 column), not a merchant bill; only "
                f"merchant bills can be booked: download {_MERCHANT_BILL[platform]}; nothing was booked "
                "from this file",
            )


def _find_header(rows: list[list[str]], required: Iterable[str], source: str, what: str) -> int:
    need = set(required)
    for i, row in enumerate(rows):
        if need <= {_clean(c) for c in row}:
            return i
    raise StatementError(
        source,
        f"no {what} header row with columns {', '.join(sorted(need))}; is this the right kind of bill?",
    )


# -- Alipay -------------------------------------------------------------------------------

_ALIPAY_REQUIRED = ("支付宝交易号", "商户订单号", "业务类型", "完成时间", "订单金额（元）", "商家实收（元）")
#: the control totals as real bills write them: ``#交易合计：12笔，商家实收共1,234.56元`` and
#: ``#退款合计：4笔，商家实收退款共-0.04元``
_ALIPAY_TOTAL = re.compile(
    r"#\s*(交易|退款)合计[：:]\s*(\d+)\s*笔[，,]\s*商家实收(?:退款)?共\s*([-\d.,]+)\s*元"
)
_ALIPAY_TOTAL_LINE = re.compile(r"^#\s*(交易|退款)合计")


def parse_alipay_bill(data: bytes, source: str, account: str = "alipay") -> list[BankTransaction]:
    """Rows of an Alipay ``trade`` bill (业务明细): sales as credits, refunds as debits."""
    text = _text(data, source)
    lines = text.splitlines()
    rows = list(csv.reader(line for line in lines if not line.lstrip().startswith("#")))
    _refuse_personal(rows, source, "Alipay")
    head = _find_header(rows, _ALIPAY_REQUIRED, source, "Alipay 业务明细")
    header = [_clean(c) for c in rows[head]]
    out: list[BankTransaction] = []
    counts = {"交易": 0, "退款": 0}
    sums = {"交易": ZERO, "退款": ZERO}
    for n, cells in enumerate(rows[head + 1 :], start=head + 2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise StatementError(
                source,
                f"line {n}: {len(cells)} cells but the header has {len(header)}; "
                "the file is truncated or not a bill",
            )
        row = {h: _clean(c) for h, c in zip(header, cells, strict=True)}
        kind = row["业务类型"]
        if kind not in counts:
            raise StatementError(source, f"line {n}: 业务类型 {kind!r} is neither 交易 nor 退款")
        gross = _amount(row, "订单金额（元）", source, n)
        received = _amount(row, "商家实收（元）", source, n)
        fee = -_amount(row, "服务费（元）", source, n)  # negative in the bill = a charge to us
        counts[kind] += 1
        sums[kind] += received
        refund = kind == "退款"
        trade_no = row["支付宝交易号"]
        batch = row.get("退款批次号/请求号", "")
        out.append(
            BankTransaction(
                id=stable_id("alipay", trade_no, batch if refund else "", kind),
                format="alipay_bill",
                account=account,
                direction=DEBIT if refund else CREDIT,
                amount=abs(received),
                currency="CNY",
                booking_date=_when(row["完成时间"] or row.get("创建时间", ""), source, n, "完成时间"),
                payer_name=row.get("对方账户", ""),
                references=tuple(r for r in (trade_no, batch) if r),
                remittance=row.get("商品名称", "") or row.get("备注", ""),
                bank_code=kind,
                kind="refund" if refund else "charge",
                fee=fee,
                net=(abs(received) - fee) if not refund else abs(received) + fee,
                order_ref=row["商户订单号"],
                source_file=source,
                raw={k: v for k, v in row.items() if v} | {"gross": str(gross)},
            )
        )
    _check_alipay_totals(lines, counts, sums, source)
    return out


def _check_alipay_totals(
    lines: list[str], counts: dict[str, int], sums: dict[str, Decimal], source: str
) -> None:
    for line in lines:
        m = _ALIPAY_TOTAL.search(line.replace(" ", ""))
        if not m:
            if _ALIPAY_TOTAL_LINE.match(line.strip()):  # a control total we cannot read is not skipped
                raise StatementError(
                    source,
                    f"control total line {line.strip()!r} cannot be read, so the bill cannot be checked; "
                    "nothing was booked from this file",
                )
            continue
        kind, count, total = m.group(1), int(m.group(2)), parse_amount(m.group(3))
        got_count, got_total = counts[kind], sums[kind]
        if count != got_count or total != got_total:
            raise StatementError(
                source,
                f"{kind}合计 says {count} 笔 / {format_amount(total)} 元 but the rows hold "
                f"{got_count} 笔 / {format_amount(got_total)} 元; nothing was booked from this file",
            )


# -- WeChat Pay ---------------------------------------------------------------------------

_WX_REQUIRED = ("交易时间", "微信订单号", "商户订单号", "交易状态", "应结订单金额", "手续费")
_WX_SUMMARY = ("总交易单数", "应结订单总金额", "退款总金额", "手续费总金额")


def parse_wechat_bill(data: bytes, source: str, account: str = "wechat") -> list[BankTransaction]:
    """Rows of a WeChat Pay ``ALL`` trade bill: SUCCESS rows as credits, REFUND rows as debits."""
    text = _text(data, source)
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    _refuse_personal(rows, source, "WeChat Pay")
    head = _find_header(rows, _WX_REQUIRED, source, "WeChat Pay 交易明细")
    try:
        summary_at = _find_header(rows, _WX_SUMMARY, source, "WeChat Pay 汇总")
    except StatementError:
        raise StatementError(
            source,
            "no summary row (总交易单数, 应结订单总金额 …) after the details: the file is "
            "truncated; nothing was booked from it",
        ) from None
    header = [_clean(c) for c in rows[head]]
    out: list[BankTransaction] = []
    settled, refunded, fees, count = ZERO, ZERO, ZERO, 0
    for n, cells in enumerate(rows[head + 1 : summary_at], start=head + 2):
        if len(cells) != len(header):
            raise StatementError(source, f"row {n}: {len(cells)} cells but the header has {len(header)}")
        row = {h: _clean(c) for h, c in zip(header, cells, strict=True)}
        status = row["交易状态"]
        settle = _amount(row, "应结订单金额", source, n)
        refund_amt = _amount(row, "退款金额", source, n)
        fee = _amount(row, "手续费", source, n)
        count += 1
        settled += settle
        refunded += refund_amt
        fees += fee
        is_refund = status == "REFUND"
        if status not in {"SUCCESS", "REFUND"}:
            raise StatementError(source, f"row {n}: 交易状态 {status!r} is neither SUCCESS nor REFUND")
        amount = refund_amt if is_refund else settle
        out.append(
            BankTransaction(
                id=stable_id(
                    "wechat", row["微信订单号"], row.get("微信退款单号", "") if is_refund else "", status
                ),
                format="wechat_bill",
                account=account,
                direction=DEBIT if is_refund else CREDIT,
                amount=amount,
                currency=(row.get("货币种类") or "CNY").upper(),
                booking_date=_when(row["交易时间"], source, n, "交易时间"),
                payer_name=row.get("用户标识", ""),
                references=tuple(
                    r for r in (row["微信订单号"], row.get("微信退款单号", "")) if r and r != "0"
                ),
                remittance=row.get("商品名称", ""),
                bank_code=status,
                kind="refund" if is_refund else "charge",
                fee=fee,
                net=amount - fee if not is_refund else amount + fee,
                # 商户订单号 is our order number; 商户数据包 (attach) is free text a shop may fill
                # with anything (real bills: "cipher code"): kept in raw, never the reference
                order_ref=row["商户订单号"] or row.get("商户数据包", ""),
                source_file=source,
                raw={k: v for k, v in row.items() if v},
            )
        )
    _check_wechat_summary(
        rows,
        summary_at,
        source,
        {
            "总交易单数": Decimal(count),
            "应结订单总金额": settled,
            "退款总金额": refunded,
            "手续费总金额": fees,
        },
    )
    return out


def _check_wechat_summary(rows: list[list[str]], at: int, source: str, got: dict[str, Decimal]) -> None:
    if at + 1 >= len(rows):
        raise StatementError(source, "summary header without its values row: the file is truncated")
    header = [_clean(c) for c in rows[at]]
    values = dict(zip(header, (_clean(c) for c in rows[at + 1]), strict=False))
    for column, total in got.items():
        stated = parse_amount(values.get(column, "0") or "0", field=column)
        if stated != total:
            raise StatementError(
                source,
                f"summary {column} is {stated} but the rows add up to {total}; "
                "nothing was booked from this file",
            )
