"""The config section of connectors.sap.idoc: what config.yaml may say, checked before anything runs.

Kept apart from the factory so that the source or destination can import it without a cycle.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from connectors.sap.common import GlAccountMap

__all__ = ["Config"]


class Config(BaseModel):
    """ACC_DOCUMENT IDoc-XML files into a drop folder that SAP (or middleware) imports."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field("sap_idoc", pattern="^sap_idoc$")
    path: str = Field(min_length=1, description="drop folder (relative to config.yaml), must exist")
    account_map: GlAccountMap = Field(
        default_factory=dict,
        description="canonical account -> SAP G/L account, or {debtor: true} for customer lines",
    )
    company_code: str = Field(min_length=1, max_length=4)
