"""A failed connection told as what it is: TLS, DNS, refused, or a timeout, with the fix.

``requests`` wraps every one of these in ``ConnectionError`` and a nested urllib3 repr; an
operator reading "Kingdee refused the login (SSLError)" checks the password when the
certificate is the problem. Two questions are answered here for every connector: could the
request have reached the server (if not, it is safe to send again), and how to say what broke.
"""

from __future__ import annotations

import requests
import urllib3

from sync.secrets import redact

__all__ = ["describe", "never_sent"]


def never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the server (TLS, DNS, refused, connect timeout).

    Everything else (read timeout, reset, remote closed) may have been processed: unknown.
    """
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError):
        return True  # no connection, or the TLS handshake failed before any byte of the request
    if not isinstance(exc, requests.ConnectionError):
        return False
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return isinstance(reason, urllib3.exceptions.NewConnectionError | ConnectionRefusedError)


def describe(exc: requests.RequestException, url: str) -> tuple[str, str]:
    """(what happened, the fix) for a failed request to ``url``; no secret, no urllib3 repr."""
    text = str(exc)
    low = text.lower()
    host = _host(url)
    if isinstance(exc, requests.exceptions.SSLError):
        return _tls(low, host)
    if (
        "name or service not known" in low
        or "nodename nor servname" in low
        or "getaddrinfo" in low
        or ("name resolution" in low)
    ):
        return (
            f"the host name {host} does not resolve (DNS)",
            f"check the host in the URL for a typo, and this machine's DNS (`getent hosts {host}`)",
        )
    if "connection refused" in low:
        return (
            f"nothing accepts connections at {host} (connection refused)",
            "check the port in the URL and that the service runs; a firewall may reject it",
        )
    if isinstance(exc, requests.ConnectTimeout):
        return (
            f"no connection to {host} within the connect timeout",
            "a firewall or proxy may drop the traffic (check transport.proxy), or the host is down; "
            "raise transport.connect_timeout_seconds only for a slow link",
        )
    if isinstance(exc, requests.ReadTimeout):
        return (
            f"{host} accepted the request but sent no answer within the read timeout",
            "the server is slow or stuck; crmsync looks the outcome up before sending again; raise "
            "transport.read_timeout_seconds if it is merely slow",
        )
    return (f"the connection to {host} failed ({type(exc).__name__})", "check the URL and the network")


def _tls(low: str, host: str) -> tuple[str, str]:
    ca = "give the issuing CA as a PEM file with transport.ca_bundle (never turn verification off)"
    if "self-signed" in low or "self signed" in low:
        return (f"the TLS certificate of {host} is self-signed and not trusted", ca)
    if "unable to get local issuer" in low or "unknown ca" in low:
        return (f"the TLS certificate of {host} is issued by a CA this machine does not trust", ca)
    if "expired" in low:
        return (
            f"the TLS certificate of {host} has expired",
            "the server's administrator must renew the certificate; nothing to change here",
        )
    if "hostname mismatch" in low or "doesn't match" in low or "not valid for" in low:
        return (
            f"the TLS certificate of {host} is for another host name",
            "use the host name the certificate names in the URL (not an IP address or an alias)",
        )
    detail = redact(low.split("(", 1)[0].strip()) or "handshake failed"
    return (
        f"the TLS handshake with {host} failed ({detail})",
        "check that the URL's port speaks HTTPS; for a private CA set transport.ca_bundle",
    )


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or url
