"""Kingdee WebAPI authentication: the signature-header scheme and the session logins.

Both modes sit behind one small interface (``Auth``): it adds what a request needs (headers,
cookies) and says what to do when the server answers "会话信息已丢失" (MsgCode 1). The header
scheme follows the official SDKs byte for byte (docs/specs/kingdee.md §2.2): an HMAC's *hex text* is
base64-encoded, not its raw digest, and the AppID's second half is XOR-decoded with a fixed
key before it becomes the gateway key. The worked example in the spec is a test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "SDK_XOR_KEY",
    "Auth",
    "Credentials",
    "LoginAuth",
    "SignatureAuth",
    "api_signature",
    "decode_app_secret",
    "encoded_path",
    "hmac_b64hex",
    "kd_appdata",
    "kd_signature",
    "login_sign",
    "signature_headers",
]

#: the XOR key the SDKs use to decode the AppID secret (stored ROT13-obfuscated in the SDK)
SDK_XOR_KEY = "0054f397c6234378b09ca7d3e5debce7"


@dataclass(frozen=True)
class Credentials:
    """What a 第三方系统登录授权 entry and the integration user give us."""

    acct_id: str
    username: str
    app_id: str
    app_secret: str
    lcid: int = 2052
    org_num: str = "0"

    @property
    def client_id(self) -> str:
        return self.app_id.split("_", 1)[0]

    @property
    def app_id_secret_part(self) -> str:
        parts = self.app_id.split("_", 1)
        return parts[1] if len(parts) == 2 else ""


def hmac_b64hex(key: str, message: str) -> str:
    """base64 of the lowercase *hex text* of HMAC-SHA256, as the SDK's hmac_util does."""
    digest = hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()
    return base64.b64encode(digest.encode("ascii")).decode("ascii")


def decode_app_secret(part: str, xor_key: str = SDK_XOR_KEY) -> str:
    """The gateway key hidden in the AppID's second part (SDK ``DecodeAppSecret``).

    Not 32 characters -> "" (the SDK's rule); otherwise base64-decode (24 bytes), XOR with the
    ASCII key, base64-encode again.
    """
    if len(part) != 32:
        return ""
    raw = base64.b64decode(part)
    key = xor_key.encode("ascii")
    mixed = bytes(b ^ key[i % len(key)] for i, b in enumerate(raw))
    return base64.b64encode(mixed).decode("ascii")


def encoded_path(url_or_path: str) -> str:
    """The URL path after the host, URL-encoded with ``/`` as ``%2F`` (the signed form)."""
    path = urllib.parse.urlsplit(url_or_path).path if "://" in url_or_path else url_or_path
    return urllib.parse.quote(path, safe="").replace("/", "%2F")


def api_signature(client_sec: str, path: str, timestamp: str, nonce: str) -> str:
    """``X-Api-Signature``: note the empty query line (two newlines after the path)."""
    message = f"POST\n{encoded_path(path)}\n\nx-api-nonce:{nonce}\nx-api-timestamp:{timestamp}\n"
    return hmac_b64hex(client_sec, message)


def kd_appdata(creds: Credentials) -> str:
    """``X-Kd-Appdata``: base64 of ``acct,user,lcid,org`` (UTF-8: user names may be Chinese)."""
    plain = f"{creds.acct_id},{creds.username},{creds.lcid},{creds.org_num}"
    return base64.b64encode(plain.encode("utf-8")).decode("ascii")


def kd_signature(creds: Credentials) -> str:
    """``X-Kd-Signature``: HMAC over AppID + the *plain* appdata, keyed by the AppSecret."""
    plain = f"{creds.acct_id},{creds.username},{creds.lcid},{creds.org_num}"
    return hmac_b64hex(creds.app_secret, creds.app_id + plain)


def signature_headers(
    creds: Credentials, path: str, timestamp: int, xor_key: str = SDK_XOR_KEY
) -> dict[str, str]:
    """Every header the Python SDK sends with each request (no session headers)."""
    ts = str(timestamp)
    client_sec = decode_app_secret(creds.app_id_secret_part, xor_key)
    return {
        "X-Api-ClientID": creds.client_id,
        "X-Api-Auth-Version": "2.0",
        "x-api-timestamp": ts,
        "x-api-nonce": ts,
        "x-api-signheaders": "x-api-timestamp,x-api-nonce",
        "X-Api-Signature": api_signature(client_sec, path, ts, ts),
        "X-Kd-Appkey": creds.app_id,
        "X-Kd-Appdata": kd_appdata(creds),
        "X-Kd-Signature": kd_signature(creds),
    }


def login_sign(creds: Credentials, timestamp: int, algorithm: str = "sha256") -> str:
    """LoginBySign ``sign``: sort [acct, user, appId, appSecret, ts] ordinally, join, hash.

    Ordinal sort = Java ``Arrays.sort`` on strings = Python's default str ordering (UTF-16
    and code-point order agree for the BMP characters these values use). Servers before
    PT-146911 / 8.0.0.202205 accept only SHA-1.
    """
    parts = sorted([creds.acct_id, creds.username, creds.app_id, creds.app_secret, str(timestamp)])
    return hashlib.new(algorithm, "".join(parts).encode("utf-8")).hexdigest()


class Auth(Protocol):
    """How a request is authenticated; the client owns the cookie jar and the transport."""

    mode: str

    @property
    def needs_login(self) -> bool:
        """True when a login call must come first (session mode without a live session)."""
        ...

    def headers(self, path: str) -> dict[str, str]:
        """Headers this request needs besides the session cookie."""
        ...

    def login_requests(self) -> list[tuple[str, dict[str, Any]]]:
        """The login calls to try, in order, as (service, body)."""
        ...

    def logged_in(self, session_id: str) -> None:
        """A login call succeeded with this KDSVCSessionId."""
        ...

    def session_lost(self) -> None:
        """The server said the session is gone: forget it so the next call starts afresh."""
        ...


@dataclass
class SignatureAuth:
    """Per-request X-Api/X-Kd headers (Kingdee's recommended path); no login call."""

    creds: Credentials
    clock: Callable[[], float] = time.time
    xor_key: str = SDK_XOR_KEY
    mode: str = "signature"

    @property
    def needs_login(self) -> bool:
        return False

    def headers(self, path: str) -> dict[str, str]:
        return signature_headers(self.creds, path, int(self.clock()), self.xor_key)

    def login_requests(self) -> list[tuple[str, dict[str, Any]]]:
        return []

    def logged_in(self, session_id: str) -> None:
        return None

    def session_lost(self) -> None:
        return None


@dataclass
class LoginAuth:
    """Session login: LoginBySign first; LoginBySign with SHA-1 (servers before PT-146911) and
    LoginByAppSecret as fallbacks. Without an AppID, ``app_secret`` is the user's password and
    ValidateUser is used (Kingdee marks it 不推荐, but old sites have nothing else).
    """

    creds: Credentials
    clock: Callable[[], float] = time.time
    mode: str = "login"
    session_id: str = ""
    _live: bool = field(default=False, repr=False)

    @property
    def needs_login(self) -> bool:
        return not self._live

    def headers(self, path: str) -> dict[str, str]:
        return {"kdservice-sessionid": self.session_id} if self.session_id else {}

    def login_requests(self) -> list[tuple[str, dict[str, Any]]]:
        c = self.creds
        if not c.app_id:
            return [
                ("AuthService.ValidateUser", {"parameters": [c.acct_id, c.username, c.app_secret, c.lcid]})
            ]
        ts = int(self.clock())
        return [
            (
                "AuthService.LoginBySign",
                {"parameters": [c.acct_id, c.username, c.app_id, str(ts), login_sign(c, ts), c.lcid]},
            ),
            (
                "AuthService.LoginBySign",
                {"parameters": [c.acct_id, c.username, c.app_id, str(ts), login_sign(c, ts, "sha1"), c.lcid]},
            ),
            (
                "AuthService.LoginByAppSecret",
                {"parameters": [c.acct_id, c.username, c.app_id, c.app_secret, c.lcid]},
            ),
        ]

    def logged_in(self, session_id: str) -> None:
        self.session_id = session_id
        self._live = True

    def session_lost(self) -> None:
        self._live = False
        self.session_id = ""
