"""Business One destination: one ``POST JournalEntries`` per voucher, looked up by Reference.

Where the key goes (B1 has no unique reference check of its own, so this is what lookup
finds): ``Reference`` (Ref1) carries the same 16-character key as S/4's DocumentReferenceID
(``short_ref(external_ref, 16)``) and is what lookup filters on; ``Reference2`` (Ref2) carries
the full external reference ``key#revision`` when it fits in 100 characters (else its
100-character short form); ``Reference3`` (Ref3, 27) the source's own number, e.g. the order
number, for people. ``Memo`` is the summary cut to 50.

Amounts go as decimal strings (Service Layer accepts them; floats would lose cents), one of
Debit/Credit per line; a red-style (negative) line moves to the other column with its
magnitude.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests

from connectors.sap.b1.client import ServiceLayer, error_of
from connectors.sap.b1.config import Config
from connectors.sap.common import (
    REF_LEN,
    SapLine,
    chunks,
    codes_needed,
    mapping_problems,
    retry_after_seconds,
    sap_lines,
    sap_ref,
)
from sync.connector import BuildContext
from sync.destination import CheckReport, ErpRef, PostResult, short_ref
from sync.errors import DestinationUnavailable, PermanentError, TransientError
from sync.jsonwire import dumps
from sync.model import Voucher
from sync.money import ZERO, format_amount
from sync.netfaults import never_sent

__all__ = ["B1Destination"]

MEMO_LEN = 50
REF2_LEN = 100
REF3_LEN = 27
LINE_MEMO_LEN = 50
_LOCATION = re.compile(r"JournalEntries\((\d+)\)")
_LOOKUP_CHUNK = 20
_PAGE = {"Prefer": "odata.maxpagesize=100"}


def _line(line: SapLine) -> dict[str, Any]:
    debit = line.magnitude if line.signed > ZERO else ZERO
    credit = line.magnitude if line.signed < ZERO else ZERO
    out: dict[str, Any] = {}
    if line.gl_account:
        out["AccountCode"] = line.gl_account
    if line.is_debtor:
        out["ShortName"] = line.debtor
    # JSON numbers (Edm.Double in the Service Layer metadata), written exactly from Decimal
    out["Debit"] = Decimal(format_amount(debit, line.currency))
    out["Credit"] = Decimal(format_amount(credit, line.currency))
    out["LineMemo"] = line.text[:LINE_MEMO_LEN]
    if line.profit_center:
        out["CostingCode"] = line.profit_center
    if line.cost_center:
        out["CostingCode2"] = line.cost_center
    return out


class B1Destination:
    """Posts vouchers as manual journal entries (OJDT/JDT1) through the Service Layer."""

    type_name = "sap_b1"

    def __init__(self, config: Config, ctx: BuildContext) -> None:
        self.config = config
        self.batch_size = config.batch_size
        self.sl = ServiceLayer(
            config.base_url,
            config.company_db,
            config.username,
            config.password.get_secret_value(),
            config.timeout_seconds,
            config.transport,
        )

    def render(self, voucher: Voucher) -> dict[str, Any]:
        """The JournalEntries body for one voucher (PermanentError if it cannot be built)."""
        day = voucher.date.isoformat()
        ref = voucher.external_ref
        return {
            "ReferenceDate": day,
            "TaxDate": day,
            "DueDate": day,
            "Memo": voucher.summary[:MEMO_LEN],
            "Reference": sap_ref(voucher),
            "Reference2": ref if len(ref) <= REF2_LEN else short_ref(ref, REF2_LEN),
            "Reference3": voucher.source.name[:REF3_LEN],
            "JournalEntryLines": [_line(ln) for ln in sap_lines(voucher, self.config.account_map)],
        }

    # -- posting ---------------------------------------------------------------------------

    def post(self, batch: Sequence[Voucher]) -> list[PostResult]:
        results: list[PostResult] = []
        for index, voucher in enumerate(batch):
            try:
                results.append(self._post_one(voucher))
            except DestinationUnavailable as exc:
                if not results:
                    raise
                # Earlier vouchers were answered: keep them. This one may have gone out (look it
                # up before resending); the rest was never sent.
                results.append(PostResult.unknown(voucher.external_ref, exc.message))
                results.extend(PostResult.transient(v.external_ref, exc.message) for v in batch[index + 1 :])
                break
        return results

    def _post_one(self, voucher: Voucher) -> PostResult:
        ref = voucher.external_ref
        try:
            body = self.render(voucher)
        except PermanentError as exc:
            return PostResult.permanent(ref, exc.message)
        try:
            response = self.sl.request(
                "POST",
                "JournalEntries",
                data=dumps(body).encode("utf-8"),
                headers={"Content-Type": "application/json"},
            )
        except requests.RequestException as exc:
            if never_sent(exc):
                return PostResult.transient(ref, f"not sent ({type(exc).__name__})")
            return PostResult.unknown(ref, f"no answer from SAP Business One ({type(exc).__name__})")
        return self._classify(ref, response)

    def _classify(self, ref: str, response: requests.Response) -> PostResult:
        status = response.status_code
        if status in (201, 204):
            jdt = self._jdt_num(response)
            if jdt:
                return PostResult.posted(ref, ErpRef(jdt, jdt))
            return PostResult.unknown(ref, f"HTTP {status} without a JdtNum")
        if status in (429, 503):
            return PostResult.transient(
                ref,
                f"SAP Business One busy (HTTP {status})",
                retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status == 404:
            raise DestinationUnavailable(
                f"SAP Business One has no JournalEntries at {self.sl.url('JournalEntries')} (HTTP 404)",
                hint="base_url must end in /b1s/v1 (or /b1s/v2)",
            )
        if status >= 500:
            return PostResult.unknown(ref, f"SAP Business One answered HTTP {status}")
        code, text = error_of(response)
        return PostResult.permanent(ref, f"{text} (code {code})")

    @staticmethod
    def _jdt_num(response: requests.Response) -> str:
        if response.status_code == 204:
            found = _LOCATION.search(response.headers.get("Location", ""))
            return found.group(1) if found else ""
        try:
            return str(response.json().get("JdtNum") or "")
        except (ValueError, AttributeError):
            return ""

    # -- look-up ---------------------------------------------------------------------------

    def _collection(self, path: str) -> list[dict[str, Any]]:
        """Every row of a collection query, following ``odata.nextLink`` / ``@odata.nextLink``."""
        rows: list[dict[str, Any]] = []
        url: str | None = path
        while url:
            try:
                response = self.sl.request("GET", url, headers=_PAGE)
            except requests.RequestException as exc:
                raise TransientError(f"SAP Business One query failed: {type(exc).__name__}") from None
            if response.status_code != 200:
                code, text = error_of(response)
                raise TransientError(
                    f"SAP Business One query failed: {text} (code {code}, HTTP {response.status_code})"
                )
            data = response.json()
            rows.extend(data.get("value", []))
            link = data.get("odata.nextLink") or data.get("@odata.nextLink")
            url = self._absolute(link) if link else None
        return rows

    def _absolute(self, link: str) -> str:
        if link.startswith("http"):
            return link
        if link.startswith("/"):
            root = self.config.base_url.split("/b1s/")[0]
            return root + link
        return f"{self.config.base_url}/{link}"

    def lookup(self, external_refs: Sequence[str], *, thorough: bool = False) -> dict[str, ErpRef]:
        wanted = {short_ref(ref, REF_LEN): ref for ref in external_refs}
        found: dict[str, ErpRef] = {}
        for part in chunks(sorted(wanted), _LOOKUP_CHUNK):
            ors = " or ".join("Reference eq '" + s.replace("'", "''") + "'" for s in part)
            query = "$select=JdtNum,Reference,Reference2&$filter=" + quote(ors, safe="'")
            for row in self._collection("JournalEntries?" + query):
                ref = wanted.get(str(row.get("Reference", "")))
                if ref is not None and ref not in found:
                    jdt = str(row.get("JdtNum", ""))
                    found[ref] = ErpRef(jdt, jdt)
        return found

    # -- check -----------------------------------------------------------------------------

    def check(self, vouchers: Sequence[Voucher] = ()) -> CheckReport:
        self.sl.login()
        problems = mapping_problems(vouchers, self.config.account_map)
        accounts, customers = codes_needed(vouchers, self.config.account_map)
        missing_acc = [a for a in sorted(accounts) if not self._exists("ChartOfAccounts", a, "Code")]
        missing_bp = [c for c in sorted(customers) if not self._exists("BusinessPartners", c, "CardCode")]
        if missing_acc:
            problems.append(
                f"accounts not in the chart of accounts of {self.config.company_db}: {', '.join(missing_acc)}"
            )
        if missing_bp:
            problems.append(f"business partners not in {self.config.company_db}: {', '.join(missing_bp)}")
        details = (
            f"Service Layer {self.config.base_url}, company {self.config.company_db}",
            f"checked {len(accounts)} accounts and {len(customers)} business partners",
        )
        return CheckReport(ok=not problems, problems=tuple(problems), details=details)

    def _exists(self, entity: str, key: str, field: str) -> bool:
        quoted = key.replace("'", "''")
        try:
            response = self.sl.request("GET", f"{entity}('{quoted}')?$select={field}")
        except requests.RequestException as exc:
            raise DestinationUnavailable(
                f"SAP Business One master-data read failed: {type(exc).__name__}"
            ) from None
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        code, text = error_of(response)
        raise DestinationUnavailable(f"SAP Business One master-data read failed: {text} (code {code})")

    def close(self) -> None:
        self.sl.close()
