"""ACC_DOCUMENT04 IDoc-XML (the ALE form of BAPI_ACC_DOCUMENT_POST), built with xmltodict.

One control record ``EDI_DC40``, the header ``E1BPACHE09`` (REF_DOC_NO = the 16-character
key), one ``E1BPACGL09`` per G/L line and one ``E1BPACAR09`` per customer line, and one
``E1BPACCR09`` amount per line with the same ITEMNO_ACC. Amounts are signed (debit positive)
and SAP's IDoc-XML writes the minus *after* the number (``1000.00-``). The control record's
ARCKEY (70 characters) carries the full external reference when it fits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import xmltodict

from connectors.sap.common import SapLine
from sync.money import ZERO, format_amount

__all__ = ["Partners", "idoc_xml"]

SENDER = "CRMSYNC"


@dataclass(frozen=True, slots=True)
class Partners:
    """The EDI_DC40 ports and partners, from the tenant's partner profile (config keys)."""

    receiver_port: str
    receiver_partner: str
    receiver_partner_type: str = "LS"
    sender_port: str = SENDER
    sender_partner: str = SENDER
    sender_partner_type: str = "LS"


def _alpha(code: str, width: int = 10) -> str:
    """SAP's ALPHA conversion: numeric codes are zero-padded to the field width."""
    return code.zfill(width) if code.isdigit() else code


def _item(number: int) -> str:
    return f"{number:010d}"


def _amount(line: SapLine) -> str:
    text = format_amount(line.magnitude, line.currency)
    return text + "-" if line.signed < ZERO else text


def idoc_xml(
    *,
    reference: str,
    archive_key: str,
    company_code: str,
    header_text: str,
    posting_date: dt.date,
    lines: Sequence[SapLine],
    created: dt.datetime,
    partners: Partners,
) -> str:
    """The IDoc-XML text of one voucher."""
    control = {
        "@SEGMENT": "1",
        "TABNAM": "EDI_DC40",
        "DIRECT": "2",
        "IDOCTYP": "ACC_DOCUMENT04",
        "MESTYP": "ACC_DOCUMENT",
        "SNDPOR": partners.sender_port,
        "SNDPRT": partners.sender_partner_type,
        "SNDPRN": partners.sender_partner,
        "RCVPOR": partners.receiver_port,
        "RCVPRT": partners.receiver_partner_type,
        "RCVPRN": partners.receiver_partner,
        "CREDAT": created.strftime("%Y%m%d"),
        "CRETIM": created.strftime("%H%M%S"),
        "ARCKEY": archive_key,
    }
    header = {
        "@SEGMENT": "1",
        "OBJ_TYPE": "BKPFF",
        "BUS_ACT": "RFBU",
        "USERNAME": SENDER,
        "HEADER_TXT": header_text[:25],
        "COMP_CODE": company_code,
        "DOC_DATE": posting_date.strftime("%Y%m%d"),
        "PSTNG_DATE": posting_date.strftime("%Y%m%d"),
        "DOC_TYPE": "SA",
        "REF_DOC_NO": reference,
    }
    gl: list[dict[str, Any]] = []
    ar: list[dict[str, Any]] = []
    for ln in lines:
        if ln.is_debtor:
            seg: dict[str, Any] = {
                "@SEGMENT": "1",
                "ITEMNO_ACC": _item(ln.number),
                "CUSTOMER": _alpha(ln.debtor),
            }
            if ln.gl_account:
                seg["GL_ACCOUNT"] = _alpha(ln.gl_account)
            seg.update({"ALLOC_NMBR": reference, "ITEM_TEXT": ln.text[:50]})
            ar.append(seg)
        else:
            seg = {
                "@SEGMENT": "1",
                "ITEMNO_ACC": _item(ln.number),
                "GL_ACCOUNT": _alpha(ln.gl_account),
                "ITEM_TEXT": ln.text[:50],
                "ALLOC_NMBR": reference,
            }
            if ln.tax_code:
                seg["TAX_CODE"] = ln.tax_code
            if ln.cost_center:
                seg["COSTCENTER"] = ln.cost_center
            if ln.profit_center:
                seg["PROFIT_CTR"] = ln.profit_center
            gl.append(seg)
    amounts = [
        {
            "@SEGMENT": "1",
            "ITEMNO_ACC": _item(ln.number),
            "CURR_TYPE": "00",
            "CURRENCY": ln.currency,
            "AMT_DOCCUR": _amount(ln),
        }
        for ln in lines
    ]
    idoc: dict[str, Any] = {"@BEGIN": "1", "EDI_DC40": control, "E1BPACHE09": header}
    if gl:
        idoc["E1BPACGL09"] = gl
    if ar:
        idoc["E1BPACAR09"] = ar
    idoc["E1BPACCR09"] = amounts
    text: str = xmltodict.unparse(
        {"ACC_DOCUMENT04": {"IDOC": idoc}}, pretty=True, indent="  ", encoding="utf-8"
    )
    return text + "\n"
