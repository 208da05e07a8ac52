"""One way to make HTTP sessions: TLS verified, proxies from the environment, never without timeouts.

Every connector's client builds its ``requests.Session`` here, so the transport rules hold
everywhere: verification on unless the config says ``verify_tls: false`` (which logs a warning
on every run), an optional CA bundle for private roots, HTTP(S)_PROXY / NO_PROXY honoured
(requests' ``trust_env``), and a (connect, read) timeout on every request even when a caller
forgets to pass one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, Field
from requests.adapters import HTTPAdapter

from sync.errors import ConfigurationError

__all__ = ["TransportConfig", "make_session", "resolve_transport"]

log = logging.getLogger("crmsync.http")


class TransportConfig(BaseModel):
    """Transport settings shared by every HTTP connector (``transport:`` in its config section)."""

    model_config = ConfigDict(extra="forbid")

    verify_tls: bool = Field(True, description="verify server certificates; false only for a test ERP")
    ca_bundle: str | None = Field(None, description="PEM file of extra trusted roots (private CA)")
    connect_timeout_seconds: float = Field(10, gt=0, le=300)
    read_timeout_seconds: float = Field(60, gt=0, le=3600)


class _TimeoutAdapter(HTTPAdapter):
    """Puts the default timeout on any request sent without one, and keeps the configured
    verification: requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` replace a session's
    ``verify`` (psf/requests#3829), which would silently drop a configured ``ca_bundle``."""

    def __init__(self, timeout: tuple[float, float], verify: bool | str | None = None) -> None:
        self._timeout = timeout
        self._verify = verify
        super().__init__(pool_connections=4, pool_maxsize=8)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        if self._verify is not None:
            kwargs["verify"] = self._verify
        return super().send(request, **kwargs)


def make_session(transport: TransportConfig | None = None, *, system: str = "http") -> requests.Session:
    """A session for one external system, with the transport rules applied."""
    t = transport or TransportConfig()
    session = requests.Session()
    session.trust_env = True  # HTTP_PROXY, HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE
    if not t.verify_tls:
        log.warning(
            "%s: TLS certificate verification is OFF (verify_tls: false); "
            "do not use this against a production system",
            system,
        )
        session.verify = False
    elif t.ca_bundle:
        if not Path(t.ca_bundle).is_file():
            raise ConfigurationError(
                f"{system}: ca_bundle {t.ca_bundle} does not exist",
                hint="point transport.ca_bundle at a PEM file",
            )
        session.verify = t.ca_bundle
    explicit = session.verify if session.verify is not True else None  # ca_bundle or False
    adapter = _TimeoutAdapter((t.connect_timeout_seconds, t.read_timeout_seconds), explicit)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def resolve_transport(
    transport: TransportConfig | None, timeout_seconds: float | None = None
) -> TransportConfig:
    """The section's ``transport:`` if written, else defaults reading for its ``timeout_seconds``."""
    if transport is not None:
        return transport
    if timeout_seconds is None:
        return TransportConfig()
    return TransportConfig(
        connect_timeout_seconds=min(timeout_seconds, 10.0), read_timeout_seconds=timeout_seconds
    )
