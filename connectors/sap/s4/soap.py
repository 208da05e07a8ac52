"""Journal Entry – Post (SOAP) wire format: the bulk request out, the confirmation back.

The request is built as a dict in the WSDL's ``xsd:sequence`` order and serialised with
xmltodict; only the root element is namespace-qualified (``sfin:``), children are not. The
confirmation is parsed with namespaces collapsed, so whichever prefix SAP picks (``n0:``)
reads the same. Business errors come back at HTTP 200: the document number and the log
severity decide, never the status alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import xmltodict

from connectors.sap.common import SapLine

__all__ = [
    "SFIN_NS",
    "SOAP11_NS",
    "Confirmation",
    "DocumentHeader",
    "SoapFault",
    "bulk_request",
    "document_request",
    "parse_response",
]

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
SFIN_NS = "http://sap.com/xi/SAPSCORE/SFIN"

#: field lengths SAP enforces (XBLNR 16, BKTXT 25, USNAM 12, SGTXT 50, ZUONR 18)
HEADER_TEXT_LEN = 25
ITEM_TEXT_LEN = 50
ASSIGNMENT_LEN = 18


@dataclass(frozen=True, slots=True)
class DocumentHeader:
    """The header values of one journal entry, already cut to SAP's field lengths."""

    message_id: str  # MessageHeader/ID of this document (≤35), echoed as ReferenceID
    document_type: str
    reference_id: str  # DocumentReferenceID (≤16): our key
    header_text: str
    created_by_user: str
    company_code: str
    document_date: dt.date
    posting_date: dt.date
    assignment: str = ""


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _amount(line: SapLine) -> dict[str, str]:
    return {"@currencyCode": line.currency, "#text": line.amount_text}


def _gl_item(line: SapLine, head: DocumentHeader) -> dict[str, Any]:
    item: dict[str, Any] = {
        "ReferenceDocumentItem": str(line.number),
        "GLAccount": line.gl_account,
        "AmountInTransactionCurrency": _amount(line),
        "DebitCreditCode": line.code,
        "DocumentItemText": line.text[:ITEM_TEXT_LEN],
    }
    if head.assignment:
        item["AssignmentReference"] = head.assignment[:ASSIGNMENT_LEN]
    if line.tax_code:
        item["Tax"] = {"TaxCode": line.tax_code}
    # the service's xsd:sequence (SAP-generated proxy structures): ProfitCenter, then CostCenter
    assignment = {
        k: v for k, v in (("ProfitCenter", line.profit_center), ("CostCenter", line.cost_center)) if v
    }
    if assignment:
        item["AccountAssignment"] = assignment
    return item


def _debtor_item(line: SapLine, head: DocumentHeader) -> dict[str, Any]:
    # No ProfitCenter here: SAP ignores it on customer lines (derived by document splitting).
    item: dict[str, Any] = {
        "ReferenceDocumentItem": str(line.number),
        "Debtor": line.debtor,
        "AmountInTransactionCurrency": _amount(line),
        "DebitCreditCode": line.code,
        "DocumentItemText": line.text[:ITEM_TEXT_LEN],
    }
    if head.assignment:
        item["AssignmentReference"] = head.assignment[:ASSIGNMENT_LEN]
    return item


def document_request(head: DocumentHeader, lines: Sequence[SapLine], created: dt.datetime) -> dict[str, Any]:
    """One ``JournalEntryCreateRequest``: header fields in WSDL order, then Item*, DebtorItem*."""
    entry: dict[str, Any] = {
        "OriginalReferenceDocumentType": "BKPFF",
        "BusinessTransactionType": "RFBU",
        "AccountingDocumentType": head.document_type,
        "DocumentReferenceID": head.reference_id,
        "DocumentHeaderText": head.header_text[:HEADER_TEXT_LEN],
        "CreatedByUser": head.created_by_user,
        "CompanyCode": head.company_code,
        "DocumentDate": head.document_date.isoformat(),
        "PostingDate": head.posting_date.isoformat(),
    }
    gl = [_gl_item(ln, head) for ln in lines if not ln.is_debtor]
    debtors = [_debtor_item(ln, head) for ln in lines if ln.is_debtor]
    if gl:
        entry["Item"] = gl
    if debtors:
        entry["DebtorItem"] = debtors
    return {
        "MessageHeader": {"ID": head.message_id, "CreationDateTime": _timestamp(created)},
        "JournalEntry": entry,
    }


def bulk_request(bulk_id: str, documents: Sequence[dict[str, Any]], created: dt.datetime) -> str:
    """The whole SOAP 1.1 envelope for several documents, as UTF-8 XML text."""
    envelope = {
        "soapenv:Envelope": {
            "@xmlns:soapenv": SOAP11_NS,
            "@xmlns:sfin": SFIN_NS,
            "soapenv:Header": None,
            "soapenv:Body": {
                "sfin:JournalEntryBulkCreateRequest": {
                    "MessageHeader": {"ID": bulk_id, "CreationDateTime": _timestamp(created)},
                    "JournalEntryCreateRequest": list(documents),
                }
            },
        }
    }
    text: str = xmltodict.unparse(
        envelope, pretty=True, indent="  ", encoding="utf-8", short_empty_elements=True
    )
    return text + "\n"


# -- the answer --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogNote:
    """One note of S/4's SOAP log (type, id, text): the ERP's own words for a refusal."""

    severity: int
    type_id: str
    note: str


@dataclass(frozen=True, slots=True)
class Confirmation:
    """SAP's answer for one document of the bulk, matched by ``reference_id``."""

    reference_id: str
    accounting_document: str
    company_code: str
    fiscal_year: str
    severity: int
    notes: tuple[LogNote, ...] = field(default=())

    @property
    def posted(self) -> bool:
        """Posted ⇔ severity below 3 and a real (non-blank, non-zero) document number."""
        number = self.accounting_document.strip()
        return self.severity < 3 and bool(number) and set(number) != {"0"}

    def error_text(self) -> str:
        """SAP's own words: the severity-3 notes (all notes when none is marked an error)."""
        errors = [n for n in self.notes if n.severity >= 3] or list(self.notes)
        text = "; ".join(f"{n.note} [{n.type_id}]" if n.type_id else n.note for n in errors)
        if text:
            return text
        return "S/4HANA returned no accounting document number (blank or 0000000000) and no log"


@dataclass(frozen=True, slots=True)
class SoapFault:
    """A technical refusal of the whole message (schema, deserialisation): nothing was posted."""

    code: str
    text: str


_COLLAPSE = {SOAP11_NS: None, SOAP12_NS: None, SFIN_NS: None}
_LISTS = ("JournalEntryCreateConfirmation", "Item")


def _text(node: Any) -> str:
    if node is None:
        return ""
    if isinstance(node, dict):
        return str(node.get("#text", "") or "")
    return str(node)


def _int(node: Any) -> int:
    try:
        return int(_text(node).strip() or 0)
    except ValueError:
        return 3


def _as_list(node: Any) -> list[Any]:
    if node is None:
        return []
    return node if isinstance(node, list) else [node]


def _strip_prefix(key: str, _value: Any) -> tuple[str, Any]:
    return key.rsplit(":", 1)[-1], _value


class _DtdRefused(ValueError):
    pass


class _NoDtdExpat:
    """pyexpat for xmltodict with any DOCTYPE refused: a SOAP answer never carries a DTD, and a
    DTD is how external entities (XXE) and entity expansion ("billion laughs") get in."""

    @staticmethod
    def ParserCreate(*args: Any, **kwargs: Any) -> Any:  # pyexpat's name
        import pyexpat

        parser = pyexpat.ParserCreate(*args, **kwargs)

        def refuse(*_: Any) -> None:
            raise _DtdRefused("the answer declares a DTD or entities (refused: XXE / entity expansion)")

        parser.StartDoctypeDeclHandler = refuse
        parser.EntityDeclHandler = refuse
        parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
        return parser


def parse_response(body: bytes | str) -> list[Confirmation] | SoapFault:
    """The confirmations of a bulk answer, or the SOAP fault it carries.

    Raises ``ValueError`` for a body that is neither (HTML error page, truncated XML).
    """
    try:
        tree = xmltodict.parse(
            body,
            expat=_NoDtdExpat,
            process_namespaces=True,
            namespaces=_COLLAPSE,
            force_list=_LISTS,
            postprocessor=lambda _path, key, value: _strip_prefix(key, value),
        )
    except Exception as exc:  # expat raises its own error type
        raise ValueError(f"not a SOAP answer: {exc}") from None
    body_node = (tree.get("Envelope") or {}).get("Body") or {}
    if not isinstance(body_node, dict):
        raise ValueError("SOAP envelope without a Body")
    if "Fault" in body_node:
        fault = body_node["Fault"] or {}
        code = _text(fault.get("faultcode") or (fault.get("Code") or {}).get("Value"))
        text = _text(fault.get("faultstring")) or _text((fault.get("Reason") or {}).get("Text"))
        detail = fault.get("detail")
        if isinstance(detail, dict):
            extra = " ".join(_text(v) for v in detail.values() if _text(v))
            text = f"{text} ({extra})" if extra else text
        return SoapFault(code=code, text=text or "SOAP fault without a faultstring")
    root = body_node.get("JournalEntryBulkCreateConfirmation")
    if not isinstance(root, dict):
        raise ValueError("SOAP body holds no JournalEntryBulkCreateConfirmation")
    return [_confirmation(node) for node in _as_list(root.get("JournalEntryCreateConfirmation"))]


def _confirmation(node: dict[str, Any]) -> Confirmation:
    header = node.get("MessageHeader") or {}
    inner = _as_list(node.get("JournalEntryCreateConfirmation"))
    doc = inner[0] if inner and isinstance(inner[0], dict) else {}
    log = node.get("Log") or {}
    notes = tuple(
        LogNote(
            _int(item.get("SeverityCode")), _text(item.get("TypeID")).strip(), _text(item.get("Note")).strip()
        )
        for item in _as_list(log.get("Item") if isinstance(log, dict) else None)
        if isinstance(item, dict)
    )
    return Confirmation(
        reference_id=_text(header.get("ReferenceID")).strip(),
        accounting_document=_text(doc.get("AccountingDocument")).strip(),
        company_code=_text(doc.get("CompanyCode")).strip(),
        fiscal_year=_text(doc.get("FiscalYear")).strip(),
        severity=_int(log.get("MaximumLogItemSeverityCode")) if isinstance(log, dict) else 0,
        notes=notes,
    )
