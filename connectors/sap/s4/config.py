"""The config section of connectors.sap.s4: what config.yaml may say, checked before anything runs.

Kept apart from the factory so that the source or destination can import it without a cycle.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.sap.common import GlAccountMap
from sync.http import TransportConfig

__all__ = ["Config"]


class Config(BaseModel):
    """S/4HANA Journal Entry – Post (SAP_COM_0002) with OData read-back (SAP_COM_0303)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field("sap_s4", pattern="^sap_s4$")
    base_url: str = Field(
        description="https://<tenant>-api.s4hana.cloud.sap (the sync SOAP path is appended) "
        "or the full service URL containing /sap/bc/srt/ (on-premise SOAMANAGER path)",
    )
    username: str = Field("", description="communication user (Basic auth)")
    password: SecretStr = Field(SecretStr(""), description="its password, as ${ENV} reference")
    client_cert: str = Field("", description="PEM file with certificate (and key) instead of Basic auth")
    client_key: str = Field("", description="PEM key file when client_cert holds only the certificate")
    company_code: str = Field(min_length=1, max_length=4)
    created_by_user: str = Field(min_length=1, max_length=12, description="CreatedByUser (≤12)")
    document_type: str | dict[str, str] = Field(
        "SA",
        description="AccountingDocumentType: one code, or {default: SA, <mapping name>: DZ, …}",
    )
    odata_base_url: str = Field("", description="host of the OData read-back; defaults to base_url's host")
    batch_size: int = Field(20, ge=1, le=500, description="documents per bulk request")
    timeout_seconds: float = Field(60, gt=0, le=600)
    transport: TransportConfig | None = Field(
        None, description="TLS verification, CA bundle, timeouts (default: verified, timeout_seconds)"
    )
    account_map: GlAccountMap = Field(
        default_factory=dict,
        description="canonical account -> SAP G/L account, or {debtor: true} for customer lines",
    )

    @field_validator("base_url", "odata_base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("document_type")
    @classmethod
    def _doc_type(cls, value: str | dict[str, str]) -> str | dict[str, str]:
        codes = [value] if isinstance(value, str) else list(value.values())
        for code in codes:
            if not 1 <= len(code) <= 2:
                raise ValueError(f"document type {code!r} must be 1-2 characters (SA, DR, DZ …)")
        return value

    @model_validator(mode="after")
    def _auth(self) -> Self:
        if not self.client_cert and not (self.username and self.password.get_secret_value()):
            raise ValueError("give username and password (Basic auth) or client_cert")
        return self

    def document_type_for(self, mapping: str) -> str:
        if isinstance(self.document_type, str):
            return self.document_type
        return self.document_type.get(mapping) or self.document_type.get("default", "SA")
