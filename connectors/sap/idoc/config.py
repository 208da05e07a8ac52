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
    archive: str | None = Field(
        None,
        description="folder the importer moves processed files to (relative to config.yaml); the "
        "look-up before every send searches it too, so a lost state never writes a file twice",
    )
    # EDI_DC40: the partner profile (WE20) SAP matches an inbound IDoc against; tenant data,
    # never a constant (every public ACC_DOCUMENT sample fills RCVPOR/RCVPRT/RCVPRN)
    receiver_port: str = Field(
        min_length=1, max_length=10, description="RCVPOR: SAP's port, e.g. SAPS4H (SAP + system id)"
    )
    receiver_partner: str = Field(
        min_length=1, max_length=10, description="RCVPRN: SAP's logical system, e.g. S4HCLNT100"
    )
    receiver_partner_type: str = Field("LS", min_length=2, max_length=2, description="RCVPRT (LS)")
    sender_port: str = Field(
        "CRMSYNC", min_length=1, max_length=10, description="SNDPOR: the file port defined in WE21"
    )
    sender_partner: str = Field(
        "CRMSYNC", min_length=1, max_length=10, description="SNDPRN: our logical system in WE20 (BD54)"
    )
    sender_partner_type: str = Field("LS", min_length=2, max_length=2, description="SNDPRT (LS)")
