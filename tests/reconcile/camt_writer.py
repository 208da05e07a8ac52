"""Write generated bank lines as a real camt.053.001.08 statement (one Stmt per day), balances included."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from sync.banking import CREDIT, BankTransaction


def _bal(code: str, amount: Decimal, day: dt.date) -> str:
    ind = "CRDT" if amount >= 0 else "DBIT"
    return (
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">{abs(amount):.2f}</Amt>'
        f"<CdtDbtInd>{ind}</CdtDbtInd><Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>"
    )


def _entry(n: int, t: BankTransaction) -> str:
    ind = "CRDT" if t.direction == CREDIT else "DBIT"
    party = "Dbtr" if t.direction == CREDIT else "Cdtr"
    fam = (
        ("ACMT", "MDOP", "CHRG")
        if t.kind == "fee"
        else ("PMNT", "RCDT" if t.direction == CREDIT else "ICDT", "DMCT")
    )
    rel = f"<{party}><Pty><Nm>{escape(t.payer_name)}</Nm></Pty></{party}>" if t.payer_name else ""
    if t.payer_account:
        rel += f"<{party}Acct><Id><Othr><Id>{t.payer_account}</Id></Othr></Id></{party}Acct>"
    rvsl = "<RvslInd>true</RvslInd>" if t.reversal else ""
    return (
        f'<Ntry><Amt Ccy="CNY">{t.amount:.2f}</Amt><CdtDbtInd>{ind}</CdtDbtInd>{rvsl}<Sts><Cd>BOOK</Cd></Sts>'
        f"<BookgDt><Dt>{t.booking_date.isoformat()}</Dt></BookgDt><AcctSvcrRef>{escape(t.id[-20:])}</AcctSvcrRef>"
        f"<BkTxCd><Domn><Cd>{fam[0]}</Cd><Fmly><Cd>{fam[1]}</Cd><SubFmlyCd>{fam[2]}</SubFmlyCd></Fmly></Domn>"
        f"</BkTxCd><NtryDtls><TxDtls><Refs><AcctSvcrRef>{escape(t.id[-20:])}</AcctSvcrRef></Refs>"
        f"{f'<RltdPties>{rel}</RltdPties>' if rel else ''}"
        f"<RmtInf><Ustrd>{escape(t.remittance or '-')}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
    )


def write_camt053(
    path: Path, account: str, lines: Iterable[BankTransaction], opening: Decimal = Decimal("0")
) -> int:
    by_day: dict[dt.date, list[BankTransaction]] = defaultdict(list)
    for t in lines:
        by_day[t.booking_date].append(t)
    balance = opening
    stmts = []
    for day in sorted(by_day):
        txns = by_day[day]
        close = balance + sum((t.signed_amount for t in txns), Decimal(0))
        stmts.append(
            f"<Stmt><Id>{day:%Y%m%d}-{account}</Id><Acct><Id><Othr><Id>{account}</Id></Othr></Id>"
            f"<Ccy>CNY</Ccy></Acct>{_bal('OPBD', balance, day)}{_bal('CLBD', close, day)}"
            + "".join(_entry(n, t) for n, t in enumerate(txns))
            + "</Stmt>"
        )
        balance = close
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:'
        'camt.053.001.08"><BkToCstmrStmt><GrpHdr><MsgId>GEN</MsgId><CreDtTm>2026-12-01T06:00:00'
        "</CreDtTm></GrpHdr>" + "".join(stmts) + "</BkToCstmrStmt></Document>",
        encoding="utf-8",
    )
    return sum(len(v) for v in by_day.values())
