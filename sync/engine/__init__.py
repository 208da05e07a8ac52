"""The engine: read -> map -> outbox (with cursor, one transaction) -> post exactly once.

Modules, one job each: ``reading`` (airbyte source in-process), ``outbox`` (a record's
results into the state store), ``reversals`` (the reversal planner), ``poster`` (the
idempotency protocol), ``retry`` (tenacity policy), ``summary`` (counts that add up),
``run`` (one run), ``build`` (config -> connectors and mappings).
"""

from sync.engine.run import Engine, Progress, sync_once
from sync.engine.summary import RunSummary

__all__ = ["Engine", "Progress", "RunSummary", "sync_once"]
