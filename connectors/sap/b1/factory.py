"""``type: sap_b1``: the factory that builds the destination (its config section: config.py)."""

from __future__ import annotations

from connectors.sap.b1.config import Config
from sync.connector import BuildContext
from sync.destination import Destination
from sync.secrets import register_secret

__all__ = ["Config", "build"]


def build(config: Config | dict[str, object], ctx: BuildContext) -> Destination:
    """The Business One destination for one config section."""
    from connectors.sap.b1.destination import B1Destination

    cfg = config if isinstance(config, Config) else Config.model_validate(config)
    register_secret(cfg.password.get_secret_value())
    return B1Destination(cfg, ctx)
