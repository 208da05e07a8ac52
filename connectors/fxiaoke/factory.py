"""``type: fxiaoke``: the factory the engine calls (config and Airbyte spec: config.py).

No airbyte_cdk at import time: ``crmsync --help`` and ``validate`` load this module and must
stay instant; ``build`` imports the source only when a run needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from connectors.fxiaoke.config import Config, airbyte_spec, start_ms
from sync.backoff import Backoff
from sync.connector import BuildContext, SourceHandle

__all__ = ["Config", "airbyte_spec", "build", "build_updater", "start_ms"]


def build(config: Config | Mapping[str, Any], ctx: BuildContext) -> SourceHandle:
    """The source, ready to run in-process under ``crmsync sync``."""
    cfg = config if isinstance(config, Config) else Config.model_validate(dict(config))
    from connectors.fxiaoke.source import SourceFxiaoke  # airbyte_cdk: only when a run needs it

    return SourceHandle(source=SourceFxiaoke(), config=cfg.plain(), system="fxiaoke")


def build_updater(config: Config | Mapping[str, Any]) -> Callable[[str, str, Mapping[str, Any]], object]:
    """``update(object api name, record id, {field: value})`` on the CRM, for write-back.

    Retries in the call are short (a few seconds): the next run retries what is left.
    """
    from connectors.fxiaoke.client import Credentials, FxiaokeClient

    cfg = config if isinstance(config, Config) else Config.model_validate(dict(config))
    client = FxiaokeClient(
        Credentials(
            cfg.base_url,
            cfg.app_id,
            cfg.app_secret.get_secret_value(),
            cfg.permanent_code.get_secret_value(),
            cfg.open_user_id,
        ),
        requests_per_second=cfg.requests_per_second,
        retry=Backoff(attempts=3, initial=0.5, maximum=2.0),
        transport=cfg.transport,
    )
    return client.update
