"""The config section of connectors.fxiaoke: what config.yaml may say, checked before anything runs.

Kept apart from the factory so that the source or destination can import it without a cycle.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.fxiaoke.schemas import PRESET_STREAMS
from sync.dates import CHINA, epoch_ms
from sync.http import TransportConfig

__all__ = ["Config", "airbyte_spec", "start_ms"]


_CUSTOM_OBJECT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*__c$")
_MIN_SECRET = 8


#: keys the engine reads (how the mappings read amounts), not the Airbyte source: not in its spec
ENGINE_ONLY = ("decimal_separator", "grouping")


class Config(BaseModel):
    """An Fxiaoke tenant, the app that reads it, and what to read."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["fxiaoke"] = Field("fxiaoke", description="the config.yaml source type")
    base_url: str = Field(
        "https://open.fxiaoke.com",
        description="API gateway of the tenant's cloud (open.fxiaoke.com, open-hwcloud.fxiaoke.com, …)",
    )
    app_id: str = Field(min_length=1, description="self-built app id, FSAID_…")
    app_secret: SecretStr = Field(description="the app's secret (use ${FXIAOKE_APP_SECRET})")
    permanent_code: SecretStr = Field(description="the tenant's permanent authorization code for the app")
    open_user_id: str = Field(
        min_length=1, description="currentOpenUserId (FSUID_…) the calls run as; a CRM administrator"
    )
    start_date: str = Field(
        description="first run reads records modified from this day (YYYY-MM-DD, China time) "
        "or instant (ISO 8601 with offset)",
    )
    streams: list[str] = Field(
        default_factory=lambda: list(PRESET_STREAMS),
        description="object API names to read; custom objects end in __c",
    )
    page_size: int = Field(100, ge=1, le=100, description="rows per query page (the API allows at most 100)")
    lookback_minutes: int = Field(
        5, ge=0, le=1440, description="re-read this overlap below the watermark (clock skew, late commits)"
    )
    requests_per_second: float = Field(
        2.5, gt=0, description="pace of calls per endpoint (limit: 100 per 20 s)"
    )
    decimal_separator: Literal[".", ","] = Field(
        ".", description='how the records write decimals in amounts: "." (1,130.00) or "," (1.130,00)'
    )
    grouping: Literal["western", "indian", "none"] = Field(
        "western", description="digit grouping of amounts: western 1,130.00, indian 1,13,000.00, none"
    )

    transport: TransportConfig = Field(
        default_factory=TransportConfig,
        description="TLS verification (on unless verify_tls: false), CA bundle, connect/read timeouts",
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL; e.g. https://open.fxiaoke.com")
        return value.rstrip("/")

    @field_validator("app_secret", "permanent_code")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < _MIN_SECRET:
            raise ValueError(
                f"is shorter than {_MIN_SECRET} characters; copy the full value from the admin console"
            )
        return value

    @field_validator("start_date")
    @classmethod
    def _start(cls, value: str) -> str:
        start_ms(value)
        return value

    @field_validator("streams")
    @classmethod
    def _streams(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("list at least one object API name, or leave streams out for all of them")
        for name in value:
            if name in PRESET_STREAMS or _CUSTOM_OBJECT.match(name):
                continue
            guess = difflib.get_close_matches(name, PRESET_STREAMS, n=1)
            hint = f"did you mean {guess[0]!r}?" if guess else "custom objects end in __c"
            raise ValueError(f"{name!r} is not a supported object ({', '.join(PRESET_STREAMS)}); {hint}")
        if len(set(value)) != len(value):
            raise ValueError("a stream is listed twice")
        return value

    def plain(self) -> dict[str, Any]:
        """The dict the Airbyte source takes (secrets revealed: in-process use only)."""
        data = self.model_dump(mode="json", exclude={"type", *ENGINE_ONLY})
        data["app_secret"] = self.app_secret.get_secret_value()
        data["permanent_code"] = self.permanent_code.get_secret_value()
        return data


def start_ms(value: str) -> int:
    """Epoch ms of ``start_date``: a date is midnight in China; a datetime must carry its offset."""
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = dt.date.fromisoformat(text)
        return epoch_ms(dt.datetime(day.year, day.month, day.day, tzinfo=CHINA))
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not YYYY-MM-DD or an ISO 8601 instant") from None
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset; write e.g. {text}+08:00, or just the date")
    return epoch_ms(moment)


def airbyte_spec() -> dict[str, Any]:
    """The Airbyte connectionSpecification, generated from ``Config`` so the two never drift."""
    from sync.platform_spec import platform_spec

    schema = platform_spec(Config.model_json_schema(), drop=("type", *ENGINE_ONLY))
    properties = schema["properties"]
    for order, prop in enumerate(properties.values()):
        prop.pop("title", None)
        prop["order"] = order
    properties["start_date"]["examples"] = ["2026-01-01", "2026-01-01T00:00:00+08:00"]
    properties["streams"]["default"] = list(PRESET_STREAMS)
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Fxiaoke (纷享销客) CRM",
        "type": "object",
        "required": ["app_id", "app_secret", "permanent_code", "open_user_id", "start_date"],
        "additionalProperties": True,
        "properties": properties,
    }
