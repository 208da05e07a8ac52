"""``type: sap_s4``: the factory that builds the destination (its config section: config.py)."""

from __future__ import annotations

from connectors.sap.s4.config import Config
from sync.connector import BuildContext
from sync.destination import Destination
from sync.errors import ConfigurationError
from sync.secrets import register_secret

__all__ = ["Config", "build"]


def build(config: Config | dict[str, object], ctx: BuildContext) -> Destination:
    """The S/4HANA destination for one config section."""
    from connectors.sap.s4.destination import S4Destination

    cfg = config if isinstance(config, Config) else Config.model_validate(config)
    register_secret(cfg.password.get_secret_value())
    for path in (cfg.client_cert, cfg.client_key):
        if path and not ctx.resolve(path).is_file():
            raise ConfigurationError(
                f"{ctx.name}: client certificate file {path} does not exist",
                hint="give the path of the PEM file (relative to config.yaml)",
            )
    return S4Destination(cfg, ctx)
