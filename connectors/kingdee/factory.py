"""``type: kingdee``: the factory that builds the destination (its config section: config.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.kingdee.auth import LoginAuth, SignatureAuth
from connectors.kingdee.client import KingdeeClient
from connectors.kingdee.config import Config
from connectors.kingdee.destination import KingdeeDestination
from sync.connector import BuildContext
from sync.http import make_session, resolve_transport

__all__ = ["Config", "build"]


def build(config: Config | Mapping[str, Any], ctx: BuildContext) -> KingdeeDestination:
    """The destination for this config section (nothing is called until check or post)."""
    if not isinstance(config, Config):
        config = Config.model_validate(dict(config))
    creds = config.credentials()
    auth = SignatureAuth(creds) if config.auth == "signature" else LoginAuth(creds)
    session = make_session(resolve_transport(config.transport, config.timeout_seconds), system="kingdee")
    client = KingdeeClient(config.base_url, auth, timeout=config.timeout_seconds, session=session)
    return KingdeeDestination(
        client,
        config.render_settings(),
        batch_size=config.batch_size,
        submit=config.submit,
        audit=config.audit is True,
        lookup_by_view=config.lookup_by_view,
    )
