"""OData V2 reads against S/4HANA: the journal-entry read-back and base-data checks.

Reads are plain GETs (Basic or client certificate) and need no CSRF token. A write would:
``write`` fetches ``X-CSRF-Token`` (HEAD ``<service>/`` with ``X-CSRF-Token: Fetch``, falling
back to HEAD without the slash), keeps the cookies that came with it, and on ``403`` with
``X-CSRF-Token: Required`` fetches once more and retries once, as SAP Gateway requires.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests

from sync.errors import DestinationUnavailable, TransientError
from sync.netfaults import never_sent
from sync.secrets import redact

__all__ = ["CUBE", "CUSTOMER_COMPANY", "GL_IN_COMPANY", "ODataClient", "quote_literal"]

CUBE = "API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube"
GL_IN_COMPANY = "API_GLACCOUNTINCHARTOFACCOUNTS_SRV/A_GLAccountInCompanyCode"
CUSTOMER_COMPANY = "API_BUSINESS_PARTNER/A_CustomerCompany"
_ROOT = "/sap/opu/odata/sap/"


def quote_literal(value: str) -> str:
    """An OData string literal: single quotes doubled, as the grammar requires."""
    return "'" + value.replace("'", "''") + "'"


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
        message = body["error"]["message"]
        text = message.get("value", "") if isinstance(message, dict) else str(message)
        return redact(f"{body['error'].get('code', '')}: {text}".strip(": "))
    except (ValueError, KeyError, TypeError, AttributeError):
        return redact(response.text[:300].strip())


class ODataClient:
    """GET collections with server-driven paging (``__next``); CSRF-protected writes."""

    def __init__(self, session: requests.Session, base_url: str, timeout: float) -> None:
        self._session = session
        self._base = base_url.rstrip("/") + _ROOT
        self._timeout = timeout
        self._csrf: str | None = None

    def url(self, path: str) -> str:
        return self._base + path

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            if never_sent(exc):
                raise DestinationUnavailable(
                    f"cannot reach S/4HANA OData at {self._base}: {type(exc).__name__}",
                    hint="check odata_base_url, the network and that the system is up",
                ) from None
            raise TransientError(f"S/4HANA OData request failed: {type(exc).__name__}") from None

    def _check(self, response: requests.Response, what: str) -> None:
        if response.status_code in (401, 403):
            raise DestinationUnavailable(
                f"S/4HANA refused the credentials for {what} (HTTP {response.status_code})",
                hint="check username/password (or client_cert) and that the communication arrangement "
                "for SAP_COM_0303 includes this user",
            )
        if response.status_code == 404:
            raise DestinationUnavailable(
                f"S/4HANA has no OData service {what} (HTTP 404)",
                hint="activate the service (communication scenario SAP_COM_0303) or fix odata_base_url",
            )
        if response.status_code >= 400:
            raise TransientError(f"S/4HANA OData {what}: HTTP {response.status_code} {_error_text(response)}")

    def rows(
        self, path: str, filter_: str, select: Sequence[str] = (), top: int = 0
    ) -> Iterator[dict[str, Any]]:
        """Every row of a filtered collection, following ``__next`` links."""
        query = f"$filter={quote(filter_, safe='')}&$format=json"
        if select:
            query += "&$select=" + ",".join(select)
        if top:
            query += f"&$top={top}"
        url: str | None = f"{self.url(path)}?{query}"
        while url:
            response = self._send("GET", url, headers={"Accept": "application/json"})
            self._check(response, path.split("/", maxsplit=1)[0])
            try:
                data = json.loads(response.text, parse_float=Decimal)["d"]
            except (ValueError, KeyError, TypeError):
                raise TransientError(f"S/4HANA OData {path}: answer is not OData JSON") from None
            yield from data.get("results", []) if isinstance(data, dict) else []
            nxt = data.get("__next") if isinstance(data, dict) else None
            url = (
                nxt if nxt and nxt.startswith("http") else (self._base.split(_ROOT)[0] + nxt if nxt else None)
            )

    # -- writes (CSRF) ---------------------------------------------------------------------

    def _fetch_token(self, service: str) -> str:
        for url in (self.url(service) + "/", self.url(service)):
            response = self._send("HEAD", url, headers={"X-CSRF-Token": "Fetch"})
            token = response.headers.get("x-csrf-token", "")
            if response.status_code < 400 and token and token.lower() != "required":
                return token
            if response.status_code in (401,):
                self._check(response, service)
        raise TransientError(f"S/4HANA did not hand out an X-CSRF-Token for {service}")

    def write(self, method: str, path: str, body: dict[str, Any]) -> requests.Response:
        """A POST/PATCH/DELETE with the CSRF token (and its cookies); one re-fetch on 403."""
        service = path.split("/", maxsplit=1)[0]
        for attempt in (1, 2):
            if self._csrf is None:
                self._csrf = self._fetch_token(service)
            response = self._send(
                method,
                self.url(path),
                data=json.dumps(body),
                headers={
                    "X-CSRF-Token": self._csrf,
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                },
            )
            required = response.headers.get("x-csrf-token", "").lower() == "required"
            if response.status_code == 403 and required and attempt == 1:
                self._csrf = None
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover
