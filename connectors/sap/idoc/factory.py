"""``type: sap_idoc``: the factory that builds the destination (its config section: config.py)."""

from __future__ import annotations

from connectors.sap.idoc.config import Config
from sync.connector import BuildContext
from sync.destination import Destination

__all__ = ["Config", "build"]


def build(config: Config | dict[str, object], ctx: BuildContext) -> Destination:
    """The IDoc file destination for one config section."""
    from connectors.sap.idoc.destination import IdocDestination

    cfg = config if isinstance(config, Config) else Config.model_validate(config)
    return IdocDestination(cfg, ctx)
