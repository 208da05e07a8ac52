"""The airbyte-cdk source: one normalised transaction stream for the configured format.

The same class serves ``crmsync sync`` in-process (through ``factory.build``) and the
standalone Airbyte protocol (``python -m connectors.bank spec|check|discover|read``).
The config is the factory's ``Config`` as a plain dict; it is validated here again so the
standalone source refuses the same mistakes with the same messages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airbyte_cdk.models import ConnectorSpecification
from airbyte_cdk.sources import AbstractSource
from pydantic import ValidationError

from connectors.bank.files import PARSERS, make_file_stream, statement_files

__all__ = ["BankSource"]


class BankSource(AbstractSource):
    """Bank statements (camt.053/054, MT940, CMB) and platforms (Stripe, Alipay, WeChat Pay)."""

    @property
    def raise_exception_on_missing_stream(self) -> bool:
        return True  # a catalog stream this source lacks is a config_error, never skipped

    @property
    def name(self) -> str:
        return "crmsync-bank"

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        from connectors.bank.config import Config
        from sync.platform_spec import documentation_url, platform_spec

        return ConnectorSpecification(
            documentationUrl=documentation_url("source-crmsync-bank"),
            connectionSpecification=platform_spec(
                Config.model_json_schema(), title="crmsync bank and payment-platform source"
            ),
        )

    def _config(self, config: Mapping[str, Any]) -> Any:
        from connectors.bank.config import Config

        return Config.model_validate(dict(config))

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> tuple[bool, Any]:
        try:
            cfg = self._config(config)
        except ValidationError as exc:
            return False, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        if cfg.format in PARSERS:
            files = statement_files(cfg.path or "")
            if not files:
                return False, f"path {cfg.path!r} matches no file"
            return True, None
        if cfg.format == "cmb":
            from connectors.bank.cmb import CmbClient

            return CmbClient.from_config(cfg).check()
        from connectors.bank.stripe import StripeClient

        return StripeClient.from_config(cfg).check()

    def streams(self, config: Mapping[str, Any]) -> list[Any]:
        cfg = self._config(config)
        if cfg.format in PARSERS:
            return [make_file_stream(cfg.format, cfg.path or "", cfg.account, cfg.book_interim)]
        if cfg.format == "cmb":
            from connectors.bank.cmb import make_cmb_stream

            return [make_cmb_stream(cfg)]
        from connectors.bank.stripe import make_stripe_stream

        return [make_stripe_stream(cfg)]
