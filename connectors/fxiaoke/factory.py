"""``type: fxiaoke``: the factory the engine calls (config and Airbyte spec: config.py).

No airbyte_cdk at import time: ``crmsync --help`` and ``validate`` load this module and must
stay instant; ``build`` imports the source only when a run needs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.fxiaoke.config import Config, airbyte_spec, start_ms
from sync.connector import BuildContext, SourceHandle

__all__ = ["Config", "airbyte_spec", "build", "start_ms"]


def build(config: Config | Mapping[str, Any], ctx: BuildContext) -> SourceHandle:
    """The source, ready to run in-process under ``crmsync sync``."""
    cfg = config if isinstance(config, Config) else Config.model_validate(dict(config))
    from connectors.fxiaoke.source import SourceFxiaoke  # airbyte_cdk: only when a run needs it

    return SourceHandle(source=SourceFxiaoke(), config=cfg.plain(), system="fxiaoke")
