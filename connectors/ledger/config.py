"""The config section of connectors.ledger: what config.yaml may say, checked before anything runs.

Kept apart from the factory so that the source or destination can import it without a cycle.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sync.dates import PERIOD

__all__ = ["Config"]


class Config(BaseModel):
    """The embedded ledger: a SQLite file, a chart of accounts, and which periods are closed."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["ledger"] = "ledger"
    path: str = Field(min_length=1, description="the ledger's SQLite file; relative to the config file")
    chart: str | None = Field(
        None,
        description="chart of accounts CSV (code,name,direction,requires_dims); "
        "default: the shipped 企业会计准则 chart",
    )
    closed_periods: list[str] = Field(
        default_factory=list, description="periods (YYYY-MM) that take no postings"
    )
    batch_size: int = Field(100, ge=1, le=10_000, description="vouchers per post call")
    dedupe: bool = Field(
        True,
        description="answer a reference already posted with that voucher instead of "
        "posting it again (real ERPs do not; tests turn this off)",
    )
    busy_timeout_seconds: float = Field(30.0, gt=0, description="how long a writer waits for another one")

    @field_validator("closed_periods")
    @classmethod
    def _periods(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not PERIOD.match(v)]
        if bad:
            raise ValueError(f"{bad}: periods are written YYYY-MM, e.g. 2026-09")
        return value
