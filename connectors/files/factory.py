"""``type: files``: the factory the engine calls (config section: config.py; no airbyte_cdk here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.files.config import Config
from sync.connector import BuildContext, SourceHandle
from sync.errors import ConfigurationError

__all__ = ["Config", "build"]


def build(config: Config | Mapping[str, Any], ctx: BuildContext) -> SourceHandle:
    """The source, ready to run in-process; the folder must exist."""
    cfg = config if isinstance(config, Config) else Config.model_validate(dict(config))
    folder = ctx.resolve(cfg.path)
    if not folder.is_dir():
        raise ConfigurationError(
            f"sources.{ctx.name}.path: folder {folder} does not exist",
            hint="point path at the folder of *.jsonl exports (relative to the config file)",
        )
    from connectors.files.source import SourceFiles  # airbyte_cdk: only when a run needs it

    airbyte_config: dict[str, Any] = {"path": str(folder), "checkpoint_interval": cfg.checkpoint_interval}
    if cfg.streams:
        airbyte_config["streams"] = list(cfg.streams)
    return SourceHandle(source=SourceFiles(), config=airbyte_config, system="files")
