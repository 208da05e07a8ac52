"""The ``console:`` section of config.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ConsoleConfig"]


class ConsoleConfig(BaseModel):
    """Where and how ``crmsync serve`` listens, and how long a login lasts."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(
        "127.0.0.1", description="address to listen on (any but loopback needs TLS or behind_proxy)"
    )
    port: int = Field(8765, ge=1, le=65535, description="port to listen on")
    tls_cert: str | None = Field(
        None, description="PEM certificate file: serve HTTPS (relative to config.yaml)"
    )
    tls_key: str | None = Field(None, description="PEM private key of tls_cert")
    behind_proxy: bool = Field(
        False,
        description="a TLS-terminating reverse proxy is in front: cookies are Secure, X-Forwarded-* trusted",
    )
    trusted_proxies: str = Field("127.0.0.1", description="addresses whose X-Forwarded-For is believed")
    idle_timeout_minutes: int = Field(30, ge=1, le=24 * 60, description="a session idle this long ends")
    language: Literal["zh", "en"] = Field(
        "zh", description="pages in Chinese or English (each user may switch)"
    )
    login_attempts: int = Field(5, ge=1, description="failed logins per user or address before a lockout")
    lockout_minutes: int = Field(15, ge=1, description="how long a lockout lasts")
    page_size: int = Field(50, ge=1, le=500, description="vouchers per page")

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert)
