"""``type: files``: the config section and the factory the engine calls (no airbyte_cdk here)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sync.connector import BuildContext, SourceHandle
from sync.errors import ConfigurationError

__all__ = ["Config", "build"]

_STREAM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class Config(BaseModel):
    """A folder of CRM exports, one ``<ObjectApiName>.jsonl`` per stream."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["files"] = "files"
    path: str = Field(min_length=1, description="folder of *.jsonl exports, relative to the config file")
    streams: list[str] | None = Field(
        None, description="object API names to read (SalesOrderObj, PaymentObj, …); default: every *.jsonl"
    )
    checkpoint_interval: int = Field(1000, ge=1, le=1_000_000, description="records per STATE")

    @field_validator("streams")
    @classmethod
    def _names(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        bad = [v for v in value if not _STREAM_NAME.match(v)]
        if bad:
            raise ValueError(f"{bad} are not object API names: use file names without .jsonl (PaymentObj)")
        if len(set(value)) != len(value):
            raise ValueError("a stream is listed twice")
        return value


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
