"""The config section of connectors.files: what config.yaml may say, checked before anything runs.

Kept apart from the factory so that the source or destination can import it without a cycle.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Config"]


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
    decimal_separator: Literal[".", ","] = Field(
        ".", description='how the records write decimals in amounts: "." (1,130.00) or "," (1.130,00)'
    )
    grouping: Literal["western", "indian", "none"] = Field(
        "western", description="digit grouping of amounts: western 1,130.00, indian 1,13,000.00, none"
    )

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
