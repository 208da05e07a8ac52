"""``type: sap_idoc``: the config section and the factory that builds the destination."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from connectors.sap.common import GlAccountMap
from sync.connector import BuildContext
from sync.destination import Destination

__all__ = ["Config", "build"]


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


def build(config: Config | dict[str, object], ctx: BuildContext) -> Destination:
    """The IDoc file destination for one config section."""
    from connectors.sap.idoc.destination import IdocDestination

    cfg = config if isinstance(config, Config) else Config.model_validate(config)
    return IdocDestination(cfg, ctx)
