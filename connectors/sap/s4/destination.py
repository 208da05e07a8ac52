"""S/4HANA destination: bulk SOAP posts, per-document outcomes, OData look-ups.

Classification (the README's error table mirrors this):

- HTTP 200, per document: posted ⇔ severity < 3 and a real document number; else PERMANENT
  with SAP's severity-3 notes. A document without a confirmation is UNKNOWN.
- SOAP fault (schema, length, namespace): nothing was posted. A bulk of several documents is
  split and each is sent alone so the fault lands on the document that caused it.
- 429 / 503: TRANSIENT (honouring Retry-After). Other 5xx, 502/504, read timeout, reset after
  send: UNKNOWN, so the engine looks the key up before any resend.
- 401 / 403 / connection refused: ``DestinationUnavailable`` (exit 3).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from urllib.parse import urlsplit

import requests

from connectors.sap.common import (
    chunks,
    codes_needed,
    mapping_problems,
    retry_after_seconds,
    sap_lines,
    sap_ref,
)
from connectors.sap.s4.config import Config
from connectors.sap.s4.odata import CUBE, CUSTOMER_COMPANY, GL_IN_COMPANY, ODataClient, quote_literal
from connectors.sap.s4.soap import (
    Confirmation,
    DocumentHeader,
    SoapFault,
    bulk_request,
    document_request,
    parse_response,
)
from sync.connector import BuildContext
from sync.destination import CheckReport, ErpRef, PostResult, short_ref
from sync.errors import DestinationUnavailable, PermanentError
from sync.http import make_session, resolve_transport
from sync.model import Voucher
from sync.netfaults import never_sent
from sync.secrets import redact

__all__ = ["SOAP_PATH", "S4Destination"]

log = logging.getLogger(__name__)

#: S/4HANA Cloud path of the synchronous service (service name cut to 30 characters)
SOAP_PATH = "/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi"
#: references per OData look-up: 40 `or` terms keep the URL near 2 KB, well inside Gateway limits
_LOOKUP_CHUNK = 40
_AUTH_HINT = "check username/password (or client_cert) and the SAP_COM_0002 communication arrangement"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class S4Destination:
    """Posts vouchers as journal entries through ``JournalEntryCreateRequestConfirmation_In``."""

    type_name = "sap_s4"

    def __init__(
        self, config: Config, ctx: BuildContext, *, clock: Callable[[], dt.datetime] = _utcnow
    ) -> None:
        self.config = config
        self.batch_size = config.batch_size
        self._clock = clock
        self._session = make_session(
            resolve_transport(config.transport, config.timeout_seconds), system="sap_s4"
        )
        if config.client_cert:
            cert = str(ctx.resolve(config.client_cert))
            self._session.cert = (cert, str(ctx.resolve(config.client_key))) if config.client_key else cert
        else:
            self._session.auth = (config.username, config.password.get_secret_value())
        self.soap_url = config.base_url if "/sap/bc/srt/" in config.base_url else config.base_url + SOAP_PATH
        parts = urlsplit(config.base_url)
        odata_base = config.odata_base_url or f"{parts.scheme}://{parts.netloc}"
        self.odata = ODataClient(self._session, odata_base, config.timeout_seconds)

    # -- rendering -------------------------------------------------------------------------

    def _header(self, voucher: Voucher) -> DocumentHeader:
        return DocumentHeader(
            message_id=short_ref(voucher.external_ref, 35),
            document_type=self.config.document_type_for(voucher.mapping.name),
            reference_id=sap_ref(voucher),
            header_text=voucher.summary,
            created_by_user=self.config.created_by_user,
            company_code=self.config.company_code,
            document_date=voucher.date,
            posting_date=voucher.date,
            assignment=voucher.source.name,
        )

    def document(self, voucher: Voucher, created: dt.datetime) -> dict[str, object]:
        """The ``JournalEntryCreateRequest`` node of one voucher (PermanentError if it cannot be)."""
        return document_request(self._header(voucher), sap_lines(voucher, self.config.account_map), created)

    def render(self, voucher: Voucher) -> str:
        """The SOAP envelope that would post this voucher alone."""
        created = self._clock()
        doc = self.document(voucher, created)
        return bulk_request(short_ref("bulk:" + voucher.external_ref, 35), [doc], created)

    # -- posting ---------------------------------------------------------------------------

    def post(self, batch: Sequence[Voucher]) -> list[PostResult]:
        results: list[PostResult] = []
        ready: list[tuple[Voucher, dict[str, object]]] = []
        created = self._clock()
        for voucher in batch:
            try:
                ready.append((voucher, self.document(voucher, created)))
            except PermanentError as exc:
                results.append(PostResult.permanent(voucher.external_ref, exc.message))
        if ready:
            results.extend(self._send(ready, created))
        return results

    def _send(self, ready: list[tuple[Voucher, dict[str, object]]], created: dt.datetime) -> list[PostResult]:
        refs = [v.external_ref for v, _ in ready]
        bulk_id = ("CRMSYNC-" + uuid.uuid4().hex)[:35]
        body = bulk_request(bulk_id, [doc for _, doc in ready], created)
        try:
            response = self._session.post(
                self.soap_url,
                data=body.encode("utf-8"),
                headers={"Content-Type": "text/xml; charset=utf-8"},
                timeout=self.config.timeout_seconds,
            )
        except requests.RequestException as exc:
            if never_sent(exc):
                raise DestinationUnavailable(
                    f"cannot reach S/4HANA at {self.soap_url}: {type(exc).__name__}",
                    hint="check base_url, the network and that the system is up",
                ) from None
            return [PostResult.unknown(r, f"no answer from S/4HANA ({type(exc).__name__})") for r in refs]
        return self._classify(response, ready, created)

    def _classify(
        self,
        response: requests.Response,
        ready: list[tuple[Voucher, dict[str, object]]],
        created: dt.datetime,
    ) -> list[PostResult]:
        refs = [v.external_ref for v, _ in ready]
        status = response.status_code
        if status in (401, 403):
            raise DestinationUnavailable(
                f"S/4HANA refused the credentials (HTTP {status})",
                hint=_AUTH_HINT,
            )
        if status in (429, 503):
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            return [PostResult.transient(r, f"S/4HANA busy (HTTP {status})", wait) for r in refs]
        try:
            parsed = parse_response(response.content)
        except ValueError as exc:
            return self._unreadable(status, str(exc), refs)
        if isinstance(parsed, SoapFault):
            return self._fault(parsed, ready, created)
        if status != 200:
            return [PostResult.unknown(r, f"S/4HANA answered HTTP {status}") for r in refs]
        return self._match(parsed, ready)

    def _fault(
        self, fault: SoapFault, ready: list[tuple[Voucher, dict[str, object]]], created: dt.datetime
    ) -> list[PostResult]:
        """A fault refuses the whole message, so nothing was posted: find the culprit alone."""
        if len(ready) > 1:
            out: list[PostResult] = []
            for index, item in enumerate(ready):
                try:
                    out.extend(self._send([item], created))
                except DestinationUnavailable as exc:
                    if not out:
                        raise
                    # keep what was answered; this one may have gone out, the rest never did
                    out.append(PostResult.unknown(item[0].external_ref, exc.message))
                    out.extend(
                        PostResult.transient(v.external_ref, exc.message) for v, _ in ready[index + 1 :]
                    )
                    break
            return out
        return [
            PostResult.permanent(ready[0][0].external_ref, redact(f"SOAP fault {fault.code}: {fault.text}"))
        ]

    def _unreadable(self, status: int, problem: str, refs: list[str]) -> list[PostResult]:
        """An answer that is neither a confirmation nor a fault (HTML error page, cut-off XML)."""
        if status == 404:
            raise DestinationUnavailable(
                f"S/4HANA has no service at {self.soap_url} (HTTP 404)",
                hint="check base_url; on-premise give the full SOAMANAGER service URL",
            )
        text = f"HTTP {status}: {problem}"
        if status >= 500 or status == 200:
            return [PostResult.unknown(r, f"S/4HANA answer unreadable ({text})") for r in refs]
        return [PostResult.permanent(r, redact(f"S/4HANA refused the request ({text})")) for r in refs]

    def _match(
        self, confirmations: list[Confirmation], ready: list[tuple[Voucher, dict[str, object]]]
    ) -> list[PostResult]:
        by_id = {c.reference_id: c for c in confirmations}
        results = []
        for voucher, _doc in ready:
            conf = by_id.get(short_ref(voucher.external_ref, 35))
            if conf is None:
                results.append(
                    PostResult.unknown(voucher.external_ref, "S/4HANA sent no confirmation for this document")
                )
            elif conf.posted:
                ref = ErpRef(
                    f"{conf.accounting_document}/{conf.fiscal_year}/{conf.company_code}",
                    conf.accounting_document,
                )
                results.append(PostResult.posted(voucher.external_ref, ref))
            else:
                results.append(PostResult.permanent(voucher.external_ref, redact(conf.error_text())))
        return results

    # -- look-up ---------------------------------------------------------------------------

    def lookup(self, external_refs: Sequence[str], *, thorough: bool = False) -> dict[str, ErpRef]:
        """Which references S/4HANA already holds, by DocumentReferenceID + company code.

        The cube has one row per item; the debit items (S) of the first document found under
        a reference add up to the total the engine compares with ours.
        """
        wanted = {short_ref(ref, 16): ref for ref in external_refs}
        found: dict[str, ErpRef] = {}
        company = quote_literal(self.config.company_code)
        select = (
            "CompanyCode",
            "FiscalYear",
            "AccountingDocument",
            "DocumentReferenceID",
            "AmountInTransactionCurrency",
            "DebitCreditCode",
        )
        for part in chunks(sorted(wanted), _LOOKUP_CHUNK):
            ors = " or ".join(f"DocumentReferenceID eq {quote_literal(s)}" for s in part)
            for row in self.odata.rows(CUBE, f"CompanyCode eq {company} and ({ors})", select):
                ref = wanted.get(str(row.get("DocumentReferenceID", "")))
                if ref is None:
                    continue
                number = str(row.get("AccountingDocument", ""))
                erp_id = f"{number}/{row.get('FiscalYear', '')}/{row.get('CompanyCode', '')}"
                held = found.get(ref)
                if held is None:
                    held = found[ref] = ErpRef(erp_id, number, Decimal(0))
                if held.erp_id == erp_id and row.get("DebitCreditCode") == "S":
                    amount = Decimal(str(row.get("AmountInTransactionCurrency") or "0"))
                    found[ref] = replace(held, total=(held.total or Decimal(0)) + amount)
        return found

    # -- check -----------------------------------------------------------------------------

    def check(self, vouchers: Sequence[Voucher] = ()) -> CheckReport:
        details = [f"SOAP {self.soap_url}", f"OData {self.odata.url(CUBE)}"]
        self._check_soap()
        list(
            self.odata.rows(
                CUBE, f"CompanyCode eq {quote_literal(self.config.company_code)}", ("CompanyCode",), top=1
            )
        )
        problems = mapping_problems(vouchers, self.config.account_map)
        accounts, customers = codes_needed(vouchers, self.config.account_map)
        warnings: list[str] = []
        missing_gl = self._missing(GL_IN_COMPANY, "GLAccount", accounts, warnings)
        missing_cu = self._missing(CUSTOMER_COMPANY, "Customer", customers, warnings)
        if missing_gl:
            problems.append(
                f"G/L accounts not in company code {self.config.company_code}: {', '.join(missing_gl)}"
            )
        if missing_cu:
            problems.append(
                f"customers not extended to company code {self.config.company_code}: {', '.join(missing_cu)}"
            )
        details.append(f"checked {len(accounts)} G/L accounts and {len(customers)} customers")
        return CheckReport(
            ok=not problems, problems=tuple(problems), warnings=tuple(warnings), details=tuple(details)
        )

    def _check_soap(self) -> None:
        try:
            response = self._session.get(self.soap_url + "?wsdl", timeout=self.config.timeout_seconds)
        except requests.RequestException as exc:
            raise DestinationUnavailable(
                f"cannot reach S/4HANA at {self.soap_url}: {type(exc).__name__}",
                hint="check base_url, the network and that the system is up",
            ) from None
        if response.status_code in (401, 403):
            raise DestinationUnavailable(
                f"S/4HANA refused the credentials for the posting service (HTTP {response.status_code})",
                hint=_AUTH_HINT,
            )
        if response.status_code == 404:
            raise DestinationUnavailable(
                f"S/4HANA has no service at {self.soap_url} (HTTP 404)",
                hint="check base_url; on-premise give the full SOAMANAGER service URL",
            )

    def _missing(self, path: str, field: str, codes: set[str], warnings: list[str]) -> list[str]:
        """Codes the master-data service does not know; a service we may not read is a warning."""
        if not codes:
            return []
        try:
            return self._unknown(path, field, codes)
        except DestinationUnavailable as exc:
            warnings.append(
                f"cannot verify {field} codes: {exc.message} ({', '.join(sorted(codes))} unchecked)"
            )
            return []

    def _unknown(self, path: str, field: str, codes: set[str]) -> list[str]:
        seen: set[str] = set()
        company = quote_literal(self.config.company_code)
        for part in chunks(sorted(codes), _LOOKUP_CHUNK):
            ors = " or ".join(f"{field} eq {quote_literal(c)}" for c in part)
            for row in self.odata.rows(path, f"CompanyCode eq {company} and ({ors})", (field,)):
                seen.add(str(row.get(field, "")).lstrip("0"))
        # SAP keeps numeric codes ALPHA-padded (0041000000): compare without leading zeros.
        return sorted(c for c in codes if c.lstrip("0") not in seen)

    def close(self) -> None:
        self._session.close()
