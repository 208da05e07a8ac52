"""``type: ledger``: the factory of the embedded ledger (config section: config.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.ledger.chart import DEFAULT_CHART_PATH, load_chart
from connectors.ledger.config import Config
from connectors.ledger.ledger import Ledger
from sync.connector import BuildContext

__all__ = ["DEFAULT_CHART_PATH", "Config", "build", "load_chart"]


def build(config: Config | Mapping[str, Any], ctx: BuildContext) -> Ledger:
    """The ledger destination; the chart is read now (a bad chart is a configuration error, exit 2)."""
    cfg = config if isinstance(config, Config) else Config.model_validate(dict(config))
    chart = load_chart(ctx.resolve(cfg.chart) if cfg.chart else DEFAULT_CHART_PATH)
    return Ledger(
        ctx.resolve(cfg.path),
        chart,
        closed_periods=cfg.closed_periods,
        batch_size=cfg.batch_size,
        dedupe=cfg.dedupe,
        busy_timeout=cfg.busy_timeout_seconds,
    )
