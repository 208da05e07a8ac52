"""A fake SAP S/4HANA: Journal Entry – Post (sync SOAP) and the OData read-back, on loopback.

It behaves like the real system where our connector depends on it:

- the SOAP body is parsed with xmltodict (namespaces processed): a wrong envelope or payload
  namespace, an element out of the WSDL sequence, an unknown element, a missing mandatory
  field or an over-long value (DocumentReferenceID 16, CreatedByUser 12, …) is a SOAP fault
  (HTTP 500) and nothing of the message is posted;
- business errors (unbalanced, unknown G/L account or customer, S/H contradicting the sign,
  unknown company code) come back per document at **HTTP 200** with
  ``MaximumLogItemSeverityCode`` 3 and a blank (or ``0000000000``) document number;
- there is no duplicate check: the same document sent twice is posted twice;
- ``/sap/opu/odata/sap/API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube`` answers
  ``$filter`` by DocumentReferenceID and company code with server-driven paging (``__next``);
  G/L accounts and customers are readable for ``check``; writes need an X-CSRF-Token;
- faults at a seeded rate: 503 with Retry-After, 500 before processing, a connection reset
  before or after processing, and a hang (past the client's timeout) **after** posting.

Run in-process (``with FakeS4() as fake: fake.url``) or as a subprocess:
``python -m tests.fakes.sap_s4 --port 0 --fault-rate 0.2`` prints its URL;
``GET /__fake__/documents`` returns what it holds as JSON.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import random
import re
import secrets
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit
from xml.sax.saxutils import escape

import xmltodict
from defusedxml import ElementTree

from tests.fakes.http_fake import (
    QuietServer,
    reset_connection,
    roll_fault,
    run_fake_main,
    serve_in_thread,
    stop_server,
)

# -- OData $filter -----------------------------------------------------------------------


Row = dict[str, Any]
Predicate = Callable[[Row], bool]

_TOKEN = re.compile(r"\s*(?:(\()|(\))|'((?:[^']|'')*)'|([A-Za-z_][A-Za-z0-9_/]*)|(-?\d+(?:\.\d+)?))")


class FilterError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FilterError(f"cannot parse $filter at {text[pos : pos + 20]!r}")
        pos = m.end()
        if m.group(1):
            out.append(("(", "("))
        elif m.group(2):
            out.append((")", ")"))
        elif m.group(3) is not None:
            out.append(("str", m.group(3).replace("''", "'")))
        elif m.group(4):
            out.append(("name", m.group(4)))
        else:
            out.append(("num", m.group(5)))
    return out


def compile_filter(text: str, normalise: Callable[[str, str], str] | None = None) -> Predicate:  # noqa: C901
    """A predicate over rows; ``normalise(field, value)`` lets a fake ignore ALPHA padding."""
    norm = normalise or (lambda _f, v: v)
    toks = _tokens(text)
    pos = 0

    def peek() -> tuple[str, str] | None:
        return toks[pos] if pos < len(toks) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(toks):
            raise FilterError("unexpected end of $filter")
        pos += 1
        return toks[pos - 1]

    def primary() -> Predicate:
        tok = take()
        if tok[0] == "(":
            inner = disjunction()
            if take()[0] != ")":
                raise FilterError("missing ')' in $filter")
            return inner
        if tok[0] != "name":
            raise FilterError(f"expected a property name, got {tok[1]!r}")
        field = tok[1]
        op = take()
        if op != ("name", "eq") and op != ("name", "ne"):
            raise FilterError(f"operator {op[1]!r} not supported")
        value_tok = take()
        if value_tok[0] not in ("str", "num"):
            raise FilterError("expected a literal")
        wanted = norm(field, value_tok[1])
        negate = op[1] == "ne"

        def test(row: Row) -> bool:
            hit = norm(field, str(row.get(field, ""))) == wanted
            return hit != negate

        return test

    def conjunction() -> Predicate:
        parts = [primary()]
        while peek() == ("name", "and"):
            take()
            parts.append(primary())
        return lambda row: all(p(row) for p in parts)

    def disjunction() -> Predicate:
        parts = [conjunction()]
        while peek() == ("name", "or"):
            take()
            parts.append(conjunction())
        return lambda row: any(p(row) for p in parts)

    result = disjunction()
    if pos != len(toks):
        raise FilterError(f"unexpected {toks[pos][1]!r} in $filter")
    return result


# -- the SOAP service ---------------------------------------------------------------------

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SFIN = "http://sap.com/xi/SAPSCORE/SFIN"
SOAP_PATH = "/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi"
ODATA = "/sap/opu/odata/sap/"

#: the WSDL's xsd:sequence for each node we accept (subset; order is what matters)
SEQUENCES: dict[str, tuple[str, ...]] = {
    "MessageHeader": (
        "ID",
        "UUID",
        "ReferenceID",
        "CreationDateTime",
        "TestDataIndicator",
        "SenderParty",
        "RecipientParty",
        "BusinessScope",
    ),
    "JournalEntryCreateRequest": ("MessageHeader", "JournalEntry"),
    "JournalEntry": (
        "OriginalReferenceDocumentType",
        "OriginalReferenceDocument",
        "OriginalReferenceDocumentLogicalSystem",
        "BusinessTransactionType",
        "AccountingDocumentType",
        "DocumentReferenceID",
        "DocumentHeaderText",
        "CreatedByUser",
        "CompanyCode",
        "DocumentDate",
        "PostingDate",
        "ExchangeRateDate",
        "ExchangeRate",
        "TaxReportingDate",
        "TaxDeterminationDate",
        "Reference1InDocumentHeader",
        "Reference2InDocumentHeader",
        "ReversalReason",
        "ReversalReferenceDocument",
        "Item",
        "DebtorItem",
        "CreditorItem",
        "ProductTaxItem",
        "WithholdingTaxItem",
    ),
    "Item": (
        "ReferenceDocumentItem",
        "CompanyCode",
        "GLAccount",
        "AmountInTransactionCurrency",
        "DebitCreditCode",
        "DocumentItemText",
        "AssignmentReference",
        "Tax",
        "AccountAssignment",
        "ValueDate",
        "HouseBank",
        "HouseBankAccount",
        "BusinessPlace",
    ),
    "DebtorItem": (
        "ReferenceDocumentItem",
        "Debtor",
        "AmountInTransactionCurrency",
        "DebitCreditCode",
        "DocumentItemText",
        "AssignmentReference",
        "Reference1IDByBusinessPartner",
        "Reference2IDByBusinessPartner",
        "Reference3IDByBusinessPartner",
        "AltvRecnclnAccts",
        "PaymentDetails",
        "CashDiscountTerms",
        "DownPaymentTerms",
    ),
    "Tax": ("TaxCode",),
    # ProfitCenter before CostCenter, as SAP's generated proxy structures of the service have it
    # (spec sap.md, addendum 2026-12); the others follow in the order the spec lists them
    "AccountAssignment": ("ProfitCenter", "CostCenter", "Segment", "OrderID", "WBSElement"),
}
MAX_LEN = {
    "ID": 35,
    "DocumentReferenceID": 16,
    "CreatedByUser": 12,
    "DocumentHeaderText": 25,
    "CompanyCode": 4,
    "AccountingDocumentType": 2,
    "DocumentItemText": 50,
    "AssignmentReference": 18,
    "GLAccount": 10,
    "Debtor": 10,
    "TaxCode": 2,
    "ProfitCenter": 10,
    "CostCenter": 10,
}
MANDATORY = (
    "OriginalReferenceDocumentType",
    "BusinessTransactionType",
    "AccountingDocumentType",
    "CreatedByUser",
    "CompanyCode",
    "DocumentDate",
    "PostingDate",
)
DOC_TYPES = {"SA", "DR", "DZ", "KR", "KZ", "AB", "DG", "DA"}
FAULTS = ("unavailable", "error500", "reset_before", "reset_after", "hang_after_post")


class SchemaFault(Exception):
    """Deserialisation failed: the whole message is refused with a SOAP fault."""


def padded(code: str) -> str:
    """How SAP stores a code: numeric codes zero-padded to 10 (ALPHA), others as they are."""
    return code.zfill(10) if code.isdigit() else code


def alpha(code: str) -> str:
    """SAP's ALPHA conversion for comparisons: numeric codes without leading zeros."""
    return code.lstrip("0") if code.isdigit() else code.upper()


@dataclass
class Line:
    item: str
    kind: str  # "Item" | "DebtorItem"
    gl_account: str
    customer: str
    amount: Decimal
    currency: str
    code: str
    text: str
    tax_code: str = ""
    profit_center: str = ""
    cost_center: str = ""


@dataclass
class Document:
    company_code: str
    fiscal_year: str
    number: str
    reference_id: str
    document_type: str
    header_text: str
    created_by: str
    document_date: str
    posting_date: str
    message_id: str
    lines: list[Line] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "CompanyCode": self.company_code,
            "FiscalYear": self.fiscal_year,
            "AccountingDocument": self.number,
            "DocumentReferenceID": self.reference_id,
            "AccountingDocumentType": self.document_type,
            "DocumentHeaderText": self.header_text,
            "CreatedByUser": self.created_by,
            "DocumentDate": self.document_date,
            "PostingDate": self.posting_date,
            "MessageID": self.message_id,
            "lines": [
                {
                    "item": ln.item,
                    "kind": ln.kind,
                    "GLAccount": ln.gl_account,
                    "Debtor": ln.customer,
                    "amount": str(ln.amount),
                    "currency": ln.currency,
                    "DebitCreditCode": ln.code,
                    "text": ln.text,
                    "TaxCode": ln.tax_code,
                    "ProfitCenter": ln.profit_center,
                    "CostCenter": ln.cost_center,
                }
                for ln in self.lines
            ],
        }


def _check_order(element: Any, name: str) -> None:
    """Children of ``element`` must follow SEQUENCES[name]; unknown ones are refused."""
    allowed = SEQUENCES.get(name)
    if allowed is None:
        return
    last = -1
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or tag.startswith("{"):
            raise SchemaFault(f"element {tag} is not expected in {name} (child elements are unqualified)")
        if tag not in allowed:
            raise SchemaFault(f"element {tag} is not expected in {name}")
        index = allowed.index(tag)
        if index < last:
            raise SchemaFault(
                f"element {tag} is out of sequence in {name}: expected order {', '.join(allowed)}"
            )
        last = index
        _check_order(child, tag)


def _text(node: Any) -> str:
    if node is None:
        return ""
    if isinstance(node, dict):
        return str(node.get("#text") or "")
    return str(node)


def _as_list(node: Any) -> list[Any]:
    if node is None:
        return []
    return node if isinstance(node, list) else [node]


def _lengths(node: Any, path: str = "") -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("@") or key == "#text":
                continue
            for item in _as_list(value):
                if key in MAX_LEN and len(_text(item)) > MAX_LEN[key]:
                    raise SchemaFault(
                        f"value of {path}{key} ({_text(item)!r}) is longer than {MAX_LEN[key]} characters"
                    )
                _lengths(item, f"{path}{key}/")


def fault_envelope(text: str) -> bytes:
    body = (
        '<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
        "<soap-env:Header/><soap-env:Body><soap-env:Fault>"
        "<faultcode>soap-env:Client</faultcode>"
        f'<faultstring xml:lang="en">{escape(text)}</faultstring>'
        "<detail/></soap-env:Fault></soap-env:Body></soap-env:Envelope>"
    )
    return body.encode()


class FakeS4:
    """The fake system: chart of accounts, customers, posted documents, fault dice."""

    def __init__(
        self,
        *,
        username: str = "COMM_CRMSYNC",
        password: str = "S4-secret-Passw0rd!",
        company_code: str = "1010",
        accounts: Iterable[str] = ("11002000", "41000000", "22210000", "11001000", "11221000", "60010000"),
        customers: Iterable[str] = ("10100001", "10100002", "10100003"),
        fault_rate: float = 0.0,
        faults: Iterable[str] = FAULTS,
        seed: int = 7,
        hang_seconds: float = 3.0,
        page_size: int = 50,
        failure_number: str = " ",
        master_data: bool = True,
        tls: ssl.SSLContext | None = None,
        port: int = 0,
    ) -> None:
        self.username, self.password = username, password
        self.company_code = company_code
        self.accounts = {alpha(a) for a in accounts}
        self.customers = {alpha(c) for c in customers}
        self.fault_rate = fault_rate
        self.faults = tuple(faults)
        self.hang_seconds = hang_seconds
        self.page_size = page_size
        self.failure_number = failure_number
        self.master_data = master_data  # False: the G/L and customer APIs are not in the arrangement
        self.documents: list[Document] = []
        self._cube: list[dict[str, Any]] = []  # the read-back rows, kept as documents are posted
        self.requests: list[str] = []  # raw SOAP bodies received, for round-trip assertions
        #: HTTP calls by method and service (``GET odata``, ``POST soap``…), for cost figures
        self.calls: Counter[str] = Counter()
        self.faults_fired: dict[str, int] = {}
        self.csrf_tokens: set[str] = set()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._next_number = 1800000000
        self._server = QuietServer(("127.0.0.1", port), _handler(self))
        self.tls = tls
        if tls is not None:  # HTTPS; with CERT_REQUIRED a client certificate replaces Basic auth
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeS4:
        self._thread = serve_in_thread(self._server)
        return self

    def stop(self) -> None:
        stop_server(self._server)

    def __enter__(self) -> FakeS4:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- assertions ------------------------------------------------------------------------

    def by_reference(self) -> dict[str, list[Document]]:
        out: dict[str, list[Document]] = {}
        with self._lock:
            for doc in self.documents:
                out.setdefault(doc.reference_id, []).append(doc)
        return out

    def totals_by_account(self) -> dict[str, Decimal]:
        """Signed balance per G/L account (customer lines as ``customer:<no>``)."""
        totals: dict[str, Decimal] = {}
        with self._lock:
            for doc in self.documents:
                for ln in doc.lines:
                    key = ln.gl_account if ln.kind == "Item" else f"customer:{ln.customer}"
                    totals[key] = totals.get(key, Decimal(0)) + ln.amount
        return totals

    # -- dice ------------------------------------------------------------------------------

    def roll(self) -> str | None:
        with self._lock:
            return roll_fault(self._rng, self.fault_rate, self.faults, self.faults_fired)

    # -- posting ---------------------------------------------------------------------------

    def process(self, body: bytes) -> bytes:
        """The confirmation envelope for a bulk request (raises SchemaFault for a fault)."""
        try:
            text = body.decode("utf-8")
            tree = xmltodict.parse(
                text, process_namespaces=True, force_list=("JournalEntryCreateRequest", "Item", "DebtorItem")
            )
            root = ElementTree.fromstring(body)
        except Exception as exc:
            raise SchemaFault(f"XML is not well-formed: {exc}") from None
        envelope = tree.get(f"{SOAP11}:Envelope")
        if envelope is None:
            raise SchemaFault("root element is not a SOAP 1.1 Envelope (" + next(iter(tree), "?") + ")")
        body_node = envelope.get(f"{SOAP11}:Body") or {}
        bulk = body_node.get(f"{SFIN}:JournalEntryBulkCreateRequest")
        if bulk is None:
            raise SchemaFault(
                f"expected {{{SFIN}}}JournalEntryBulkCreateRequest in Body, "
                f"got {', '.join(body_node) or 'nothing'}"
            )
        bulk_el = root.find(f"{{{SOAP11}}}Body/{{{SFIN}}}JournalEntryBulkCreateRequest")
        assert bulk_el is not None
        for child in bulk_el:
            if child.tag not in ("MessageHeader", "JournalEntryCreateRequest"):
                raise SchemaFault(f"element {child.tag} is not expected in JournalEntryBulkCreateRequest")
            _check_order(child, child.tag)
        _lengths(bulk)
        header = bulk.get("MessageHeader") or {}
        if not _text(header.get("CreationDateTime")):
            raise SchemaFault("MessageHeader/CreationDateTime is mandatory")
        requests_ = _as_list(bulk.get("JournalEntryCreateRequest"))
        if not requests_:
            raise SchemaFault("JournalEntryBulkCreateRequest holds no JournalEntryCreateRequest")
        for req in requests_:
            entry = req.get("JournalEntry") or {}
            for name in MANDATORY:
                if not _text(entry.get(name)):
                    raise SchemaFault(f"JournalEntry/{name} is mandatory")
        with self._lock:
            self.requests.append(text)
            answers = [self._post_one(req) for req in requests_]
        return self._confirmation(_text(header.get("ID")), answers)

    def _post_one(self, req: dict[str, Any]) -> tuple[str, Document | None, list[tuple[str, str]]]:
        message_id = _text((req.get("MessageHeader") or {}).get("ID"))
        entry = req["JournalEntry"]
        errors: list[tuple[str, str]] = []
        company = _text(entry.get("CompanyCode"))
        if company != self.company_code:
            errors.append(("165(F5)", f"Company code {company} does not exist"))
        if _text(entry.get("OriginalReferenceDocumentType")) != "BKPFF":
            errors.append(("003(RW)", "Reference procedure must be BKPFF for this interface"))
        if _text(entry.get("BusinessTransactionType")) != "RFBU":
            errors.append(
                ("020(RW)", f"Business transaction {_text(entry.get('BusinessTransactionType'))} not allowed")
            )
        doc_type = _text(entry.get("AccountingDocumentType"))
        if doc_type not in DOC_TYPES:
            errors.append(("814(F5)", f"Document type {doc_type} is not defined"))
        lines: list[Line] = []
        for kind in ("Item", "DebtorItem"):
            for node in _as_list(entry.get(kind)):
                lines.append(self._line(kind, node, company, errors))
        if len(lines) < 2:
            errors.append(("702(F5)", "A document must contain at least two line items"))
        currencies = {ln.currency for ln in lines}
        if len(currencies) > 1:
            errors.append(
                ("701(F5)", f"Document has several transaction currencies: {', '.join(sorted(currencies))}")
            )
        balance = sum((ln.amount for ln in lines), Decimal(0))
        if balance != 0:
            errors.append(
                ("702(F5)", f"Balance in transaction currency {next(iter(currencies), '')}: {balance}")
            )
        if errors:
            return message_id, None, errors
        self._next_number += 1
        doc = Document(
            company_code=company,
            fiscal_year=_text(entry["PostingDate"])[:4],
            number=str(self._next_number),
            reference_id=_text(entry.get("DocumentReferenceID")),
            document_type=doc_type,
            header_text=_text(entry.get("DocumentHeaderText")),
            created_by=_text(entry.get("CreatedByUser")),
            document_date=_text(entry.get("DocumentDate")),
            posting_date=_text(entry.get("PostingDate")),
            message_id=message_id,
            lines=lines,
        )
        self.documents.append(doc)
        self._cube.extend(self._cube_row(doc, i, ln) for i, ln in enumerate(doc.lines, 1))
        return message_id, doc, []

    def _line(self, kind: str, node: dict[str, Any], company: str, errors: list[tuple[str, str]]) -> Line:
        item = _text(node.get("ReferenceDocumentItem"))
        amount_node = node.get("AmountInTransactionCurrency")
        currency = amount_node.get("@currencyCode", "") if isinstance(amount_node, dict) else ""
        try:
            amount = Decimal(_text(amount_node))
        except InvalidOperation:
            amount = Decimal(0)
            errors.append(("015(F5)", f"Item {item}: amount {_text(amount_node)!r} is not a number"))
        if not currency:
            errors.append(("076(F5)", f"Item {item}: enter a currency (attribute currencyCode)"))
        if amount == 0:
            errors.append(("714(F5)", f"Item {item}: enter an amount"))
        code = _text(node.get("DebitCreditCode"))
        if code and (code not in ("S", "H") or (code == "S") != (amount > 0)):
            errors.append(
                ("705(F5)", f"Item {item}: debit/credit code {code} does not match the sign of {amount}")
            )
        gl = _text(node.get("GLAccount"))
        customer = _text(node.get("Debtor"))
        if kind == "Item" and alpha(gl) not in self.accounts:
            errors.append(("507(F5)", f"G/L account {gl} is not defined in chart of accounts YCOA"))
        if kind == "DebtorItem" and alpha(customer) not in self.customers:
            errors.append(("102(F5)", f"Customer {customer} is not defined in company code {company}"))
        assignment = node.get("AccountAssignment") or {}
        return Line(
            item=item,
            kind=kind,
            gl_account=gl,
            customer=customer,
            amount=amount,
            currency=currency,
            code=code or ("S" if amount > 0 else "H"),
            text=_text(node.get("DocumentItemText")),
            tax_code=_text((node.get("Tax") or {}).get("TaxCode")),
            profit_center=_text(assignment.get("ProfitCenter")),
            cost_center=_text(assignment.get("CostCenter")),
        )

    def _confirmation(
        self, bulk_id: str, answers: list[tuple[str, Document | None, list[tuple[str, str]]]]
    ) -> bytes:
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        docs = []
        for message_id, doc, errors in answers:
            if doc is not None:
                awkey = f"{doc.number}{doc.company_code}{doc.fiscal_year}"
                inner = {
                    "AccountingDocument": doc.number,
                    "CompanyCode": doc.company_code,
                    "FiscalYear": doc.fiscal_year,
                }
                log = {
                    "MaximumLogItemSeverityCode": "1",
                    "Item": [
                        {
                            "TypeID": "605(RW)",
                            "SeverityCode": "1",
                            "Note": f"Document posted successfully: BKPFF {awkey} S4HCLNT100",
                            "WebURI": f"http://host:50000/sap/xi/docu_apperror?ID=NA&OBJECT=RW605&MSGV2={awkey}",
                        }
                    ],
                }
            else:
                inner = {"AccountingDocument": self.failure_number, "CompanyCode": " ", "FiscalYear": "0000"}
                items = [
                    {
                        "TypeID": "609(RW)",
                        "SeverityCode": "3",
                        "Note": "Error in document: BKPFF $ S4HCLNT100",
                    }
                ]
                items += [{"TypeID": t, "SeverityCode": "3", "Note": n} for t, n in errors]
                log = {"MaximumLogItemSeverityCode": "3", "Item": items}
            docs.append(
                {
                    "MessageHeader": {
                        "UUID": secrets.token_hex(16),
                        "ReferenceID": message_id,
                        "CreationDateTime": now,
                    },
                    "JournalEntryCreateConfirmation": inner,
                    "Log": log,
                }
            )
        envelope = {
            "soap-env:Envelope": {
                "@xmlns:soap-env": SOAP11,
                "soap-env:Header": None,
                "soap-env:Body": {
                    "n0:JournalEntryBulkCreateConfirmation": {
                        "@xmlns:n0": SFIN,
                        "@xmlns:prx": "urn:sap.com:proxy:S4H:/1SAI/TAS3D871C7855B59197A671:795",
                        "MessageHeader": {
                            "UUID": secrets.token_hex(16),
                            "ReferenceID": bulk_id,
                            "CreationDateTime": now,
                            "SenderBusinessSystemID": "S4H",
                        },
                        "ConfirmationInterfaceOrignName": None,
                        "JournalEntryCreateConfirmation": docs,
                        "Log": None,
                    }
                },
            }
        }
        text: str = xmltodict.unparse(envelope)
        return text.encode("utf-8")

    # -- OData -----------------------------------------------------------------------------

    def rows(self, entity: str) -> list[dict[str, Any]]:
        with self._lock:
            if entity == "API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube":
                return list(self._cube)
            if not self.master_data and not entity.startswith("API_OPLACCTGDOCITEMCUBE_SRV"):
                raise KeyError(entity)
            if entity == "API_GLACCOUNTINCHARTOFACCOUNTS_SRV/A_GLAccountInCompanyCode":
                return [
                    {"CompanyCode": self.company_code, "GLAccount": padded(a)} for a in sorted(self.accounts)
                ]
            if entity == "API_BUSINESS_PARTNER/A_CustomerCompany":
                return [
                    {"Customer": padded(c), "CompanyCode": self.company_code} for c in sorted(self.customers)
                ]
        raise KeyError(entity)

    @staticmethod
    def _cube_row(doc: Document, index: int, ln: Line) -> dict[str, Any]:
        day = dt.date.fromisoformat(doc.posting_date)
        ms = (day - dt.date(1970, 1, 1)).days * 86_400_000  # OData V2 /Date(ms)/ at UTC midnight
        return {
            "__metadata": {"type": "API_OPLACCTGDOCITEMCUBE_SRV.A_OperationalAcctgDocItemCubeType"},
            "CompanyCode": doc.company_code,
            "FiscalYear": doc.fiscal_year,
            "AccountingDocument": doc.number,
            "AccountingDocumentItem": f"{index:03d}",
            "DocumentReferenceID": doc.reference_id,
            "AccountingDocumentType": doc.document_type,
            "PostingDate": f"/Date({ms})/",
            "GLAccount": padded(ln.gl_account) if ln.kind == "Item" else "",
            "Customer": ln.customer,
            "AmountInTransactionCurrency": str(ln.amount),
            "TransactionCurrency": ln.currency,
            "DebitCreditCode": ln.code,
            "IsReversed": False,
        }


def _odata_error(code: str, text: str) -> bytes:
    return json.dumps(
        {
            "error": {
                "code": code,
                "message": {"lang": "en", "value": text},
                "innererror": {"transactionid": secrets.token_hex(16)},
            }
        }
    ).encode()


def _handler(fake: FakeS4) -> type[BaseHTTPRequestHandler]:  # noqa: C901
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(
            self,
            status: int,
            body: bytes = b"",
            ctype: str = "text/xml; charset=utf-8",
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _authorised(self) -> bool:
            peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
            if peer:  # the TLS layer verified the client certificate against the trusted CA
                return True
            header = self.headers.get("Authorization", "")
            expected = base64.b64encode(f"{fake.username}:{fake.password}".encode()).decode()
            if header == f"Basic {expected}":
                return True
            self._send(
                401,
                b"<html><body>Logon failed</body></html>",
                "text/html",
                {"WWW-Authenticate": 'Basic realm="SAP NetWeaver Application Server"'},
            )
            return False

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _reset(self) -> None:
            reset_connection(self)

        # ---------------------------------------------------------------------------------

        def do_GET(self) -> None:
            path = urlsplit(self.path)
            if path.path == "/__fake__/documents":
                with fake._lock:
                    data = [d.as_json() for d in fake.documents]
                self._send(200, json.dumps(data).encode(), "application/json")
                return
            fake.calls["GET odata" if path.path.startswith(ODATA) else "GET soap"] += 1
            if not self._authorised():
                return
            if path.path == SOAP_PATH and path.query.lower() == "wsdl":
                self._send(
                    200,
                    b'<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
                    b'name="JournalEntryCreateRequestConfirmation_In"/>',
                )
                return
            if path.path.startswith(ODATA):
                self._odata(path.path[len(ODATA) :], parse_qs(path.query))
                return
            self._send(404, b"<html>Not found</html>", "text/html")

        def do_HEAD(self) -> None:
            fake.calls["HEAD"] += 1
            if not self._authorised():
                return
            if self.headers.get("X-CSRF-Token", "").lower() == "fetch" and self.path.startswith(ODATA):
                token = secrets.token_urlsafe(16)
                with fake._lock:
                    fake.csrf_tokens.add(token)
                self._send(
                    200,
                    b"",
                    "application/json",
                    {"x-csrf-token": token, "Set-Cookie": f"SAP_SESSIONID_S4H_100={token}; path=/"},
                )
                return
            self._send(200, b"", "application/json")

        def _odata_write(self) -> None:
            self._body()
            token = self.headers.get("X-CSRF-Token", "")
            cookie = self.headers.get("Cookie", "")
            if token not in fake.csrf_tokens or f"SAP_SESSIONID_S4H_100={token}" not in cookie:
                self._send(403, b"CSRF token validation failed", "text/plain", {"x-csrf-token": "Required"})
                return
            self._send(
                405,
                _odata_error("/IWBEP/CM_MGW_RT/021", "Method not allowed: the service is read-only"),
                "application/json",
            )

        do_PATCH = _odata_write
        do_DELETE = _odata_write

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            fake.calls["POST odata" if path.startswith(ODATA) else "POST soap"] += 1
            if not self._authorised():
                return
            if path.startswith(ODATA):
                self._odata_write()
                return
            if path != SOAP_PATH:
                self._body()
                self._send(404, b"<html>Not found</html>", "text/html")
                return
            body = self._body()
            if not self.headers.get("Content-Type", "").startswith("text/xml"):
                self._send(415, b"Unsupported content type: SOAP 1.1 needs text/xml", "text/plain")
                return
            fault = fake.roll()
            if fault == "unavailable":
                self._send(503, b"<html>Service unavailable</html>", "text/html", {"Retry-After": "0"})
                return
            if fault == "error500":
                self._send(500, b"<html>Internal Server Error</html>", "text/html")
                return
            if fault == "reset_before":
                self._reset()
                return
            try:
                answer = fake.process(body)
            except SchemaFault as exc:
                self._send(500, fault_envelope(str(exc)))
                return
            if fault == "reset_after":
                self._reset()
                return
            if fault == "hang_after_post":
                time.sleep(fake.hang_seconds)
            with contextlib.suppress(OSError):
                self._send(200, answer)

        def _odata(self, rest: str, query: dict[str, list[str]]) -> None:
            entity = rest.rstrip("/")
            try:
                rows = fake.rows(entity)
            except KeyError:
                self._send(
                    404, _odata_error("/IWFND/MED/170", f"No service found for {entity}"), "application/json"
                )
                return
            flt = query.get("$filter", [""])[0]
            if flt:
                try:
                    pred = compile_filter(flt, lambda _f, v: alpha(v))
                except FilterError as exc:
                    self._send(400, _odata_error("/IWBEP/CM_MGW_RT/022", str(exc)), "application/json")
                    return
                rows = [r for r in rows if pred(r)]
            select = [s for s in query.get("$select", [""])[0].split(",") if s]
            if select:
                rows = [{k: v for k, v in r.items() if k in select or k == "__metadata"} for r in rows]
            skip = int(query.get("$skip", ["0"])[0])
            top = int(query.get("$top", ["0"])[0]) or None
            rows = rows[skip:]
            limit = fake.page_size if top is None else min(top, fake.page_size)
            page, more = rows[:limit], len(rows) > limit and (top is None or top > limit)
            data: dict[str, Any] = {"results": page}
            if more:
                params = "&".join(
                    f"{k}={quote(v[0], safe=',')}" for k, v in query.items() if k not in ("$skip",)
                )
                data["__next"] = f"{fake.url}{ODATA}{entity}?{params}&$skip={skip + limit}"
            self._send(200, json.dumps({"d": data}).encode(), "application/json")

    return Handler


def main(argv: list[str] | None = None) -> None:
    run_fake_main(
        argv,
        description="fake SAP S/4HANA (SOAP journal entry + OData read-back)",
        seed=7,
        make=lambda a: FakeS4(port=a.port, fault_rate=a.fault_rate, seed=a.seed, hang_seconds=a.hang_seconds),
    )


if __name__ == "__main__":
    main()
