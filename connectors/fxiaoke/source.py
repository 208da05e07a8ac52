"""The Airbyte source: spec from ``factory.Config``, check with one cheap call, one stream per object."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airbyte_cdk.models import ConnectorSpecification, FailureType
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from pydantic import ValidationError

from connectors.fxiaoke.client import Credentials, FxiaokeClient
from connectors.fxiaoke.config import Config, airbyte_spec, start_ms
from connectors.fxiaoke.streams import FxiaokeStream
from sync.backoff import Backoff
from sync.errors import CrmsyncError
from sync.platform_spec import documentation_url

__all__ = ["SourceFxiaoke"]


class SourceFxiaoke(AbstractSource):
    """Fxiaoke CRM objects, incremental on ``last_modified_time``.

    ``retry`` and ``timeout`` are for tests and benchmarks (short backoff, short timeouts);
    production uses the defaults.
    """

    def __init__(self, *, retry: Backoff | None = None, timeout: tuple[float, float] = (10.0, 60.0)) -> None:
        super().__init__()
        self._retry = retry
        self._timeout = timeout

    @property
    def raise_exception_on_missing_stream(self) -> bool:
        return True  # a catalog stream not configured here is a config_error, never skipped

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        return ConnectorSpecification(
            documentationUrl=documentation_url("source-fxiaoke"),
            connectionSpecification=airbyte_spec(),
            supportsIncremental=True,
        )

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> tuple[bool, Any]:
        """Fetch a token and one row of the first stream: proves credentials, user and permission."""
        try:
            cfg = _parse(config)
            client = self._client(cfg)
            client.query(cfg.streams[0], {"limit": 1, "offset": 0}, stream=cfg.streams[0])
        except AirbyteTracedException as exc:
            return False, exc.message
        except CrmsyncError as exc:
            return False, exc.render()
        return True, None

    def streams(self, config: Mapping[str, Any]) -> list[Stream]:
        cfg = _parse(config)
        client = self._client(cfg)
        first = start_ms(cfg.start_date)
        overlap = cfg.lookback_minutes * 60_000
        return [
            FxiaokeStream(name, client, start_ms=first, page_size=cfg.page_size, overlap_ms=overlap)
            for name in cfg.streams
        ]

    def _client(self, cfg: Config) -> FxiaokeClient:
        credentials = Credentials(
            base_url=cfg.base_url,
            app_id=cfg.app_id,
            app_secret=cfg.app_secret.get_secret_value(),
            permanent_code=cfg.permanent_code.get_secret_value(),
            open_user_id=cfg.open_user_id,
        )
        return FxiaokeClient(
            credentials,
            requests_per_second=cfg.requests_per_second,
            retry=self._retry,
            timeout=self._timeout,
            transport=cfg.transport if "transport" in cfg.model_fields_set else None,
        )


def _parse(config: Mapping[str, Any]) -> Config:
    try:
        return Config.model_validate(dict(config))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}" for err in exc.errors()
        )
        raise AirbyteTracedException(
            message=f"fxiaoke config is invalid: {problems}",
            internal_message=str(exc),
            failure_type=FailureType.config_error,
        ) from None
