"""The config section of connectors.sap.b1: what config.yaml may say, checked before anything runs.

Kept apart from the factory so that the source or destination can import it without a cycle.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.sap.common import AccountMap, debtor_must_be_true
from sync.http import TransportConfig

__all__ = ["Config"]


class Config(BaseModel):
    """SAP Business One Service Layer (``/b1s/v1`` OData V3 or ``/b1s/v2`` OData V4)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field("sap_b1", pattern="^sap_b1$")
    base_url: str = Field(description="https://<host>:50000/b1s/v1")
    company_db: str = Field(min_length=1, description="company database, e.g. SBODEMOCN")
    username: str = Field(min_length=1, description="B1 user with rights to add journal entries")
    password: SecretStr = Field(description="its password, as ${ENV} reference")
    account_map: Annotated[AccountMap, debtor_must_be_true("an AccountCode")] = Field(
        default_factory=dict,
        description="canonical account -> B1 AccountCode, or {debtor: true} for a ShortName (BP) line",
    )
    batch_size: int = Field(20, ge=1, le=500, description="vouchers per engine batch (one POST each)")
    timeout_seconds: float = Field(60, gt=0, le=600)
    transport: TransportConfig | None = Field(
        None, description="TLS verification, CA bundle, timeouts (default: verified, timeout_seconds)"
    )

    @field_validator("base_url")
    @classmethod
    def _service_root(cls, value: str) -> str:
        value = value.rstrip("/")
        if not value.startswith(("http://", "https://")) or not value.endswith(("/b1s/v1", "/b1s/v2")):
            raise ValueError(f"{value!r} must be the Service Layer root, e.g. https://b1host:50000/b1s/v1")
        return value
