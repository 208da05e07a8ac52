"""Service Layer session: Login, both cookies on every call, one re-login on a lost session.

Service Layer keeps state in a session: ``POST Login`` sets ``B1SESSION`` and ``ROUTEID``
(the load balancer's stickiness cookie; dropping it breaks multi-node installations). A
session times out (30 minutes by default): the answer is ``401`` with error code ``301``, and
the cure is to log in again and repeat the call once. A 401 means the call was not
processed, so repeating a POST is safe.
"""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

import requests

from sync.errors import DestinationUnavailable
from sync.http import TransportConfig, make_session, resolve_transport
from sync.netfaults import never_sent
from sync.secrets import redact

__all__ = ["ServiceLayer", "error_of"]


def error_of(response: requests.Response) -> tuple[str, str]:
    """``(code, text)`` from a v1 (``{"code": -10, "message": {"value": …}}``) or v2 error body.

    v2 (OData V4) sends the code as a string and the message as a plain string; both read the
    same here. A body that is not JSON gives its first 300 characters.
    """
    try:
        err = json.loads(response.text, parse_float=Decimal)["error"]
    except (ValueError, KeyError, TypeError):
        return str(response.status_code), redact(response.text[:300].strip()) or response.reason
    if not isinstance(err, dict):
        return str(response.status_code), redact(str(err))
    message = err.get("message", "")
    text = message.get("value", "") if isinstance(message, dict) else str(message)
    return str(err.get("code", "")), redact(str(text))


def session_lost(response: requests.Response) -> bool:
    """401 (body code 301, "Invalid session or session already timeout") or a 301 redirect."""
    return response.status_code in (401, 301)


class ServiceLayer:
    """A logged-in Service Layer conversation."""

    def __init__(  # noqa: PLR0917 - the Service Layer's login triple plus transport
        self,
        base_url: str,
        company_db: str,
        username: str,
        password: str,
        timeout: float,
        transport: TransportConfig | None = None,
    ) -> None:
        self.base_url = base_url
        self._login_body = {"CompanyDB": company_db, "UserName": username, "Password": password}
        self._timeout = timeout
        self._session = make_session(resolve_transport(transport, timeout), system="sap_b1")
        self._logged_in = False
        self.logins = 0

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    def _raw(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(
                method, self.url(path), timeout=self._timeout, allow_redirects=False, **kwargs
            )
        except requests.RequestException as exc:
            if never_sent(exc):
                raise DestinationUnavailable(
                    f"cannot reach SAP Business One Service Layer at {self.base_url}: {type(exc).__name__}",
                    hint="check base_url, the network and that the Service Layer is running",
                ) from None
            raise

    def login(self) -> None:
        self._session.cookies.clear()
        try:
            response = self._raw("POST", "Login", json=self._login_body)
        except requests.RequestException as exc:  # sent, no answer: the Service Layer hangs
            raise DestinationUnavailable(
                f"SAP Business One Service Layer at {self.base_url} does not answer the login "
                f"({type(exc).__name__})",
                hint="check that the Service Layer is running and timeout_seconds",
            ) from None
        self.logins += 1
        if response.status_code != 200:
            code, text = error_of(response)
            raise DestinationUnavailable(
                f"SAP Business One refused the login for {self._login_body['UserName']} on "
                f"{self._login_body['CompanyDB']}: {text} (code {code}, HTTP {response.status_code})",
                hint="check company_db, username and password",
            )
        if "B1SESSION" not in self._session.cookies:
            raise DestinationUnavailable("SAP Business One login answered without a B1SESSION cookie")
        self._logged_in = True

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One call; on a lost session log in again and repeat it once."""
        if not self._logged_in:
            self.login()
        response = self._raw(method, path, **kwargs)
        if session_lost(response):
            self.login()
            response = self._raw(method, path, **kwargs)
            if session_lost(response):
                code, text = error_of(response)
                raise DestinationUnavailable(
                    f"SAP Business One keeps refusing the session: {text} (code {code})",
                    hint="check the user's licence and that the Service Layer nodes share sessions",
                )
        return response

    def close(self) -> None:
        if self._logged_in:
            with contextlib.suppress(requests.RequestException, DestinationUnavailable):
                self._raw("POST", "Logout")
        self._session.close()
