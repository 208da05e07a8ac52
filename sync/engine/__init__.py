"""The engine: read -> map -> outbox (with cursor, one transaction) -> post exactly once.

Modules, one job each: ``reading`` (airbyte source in-process), ``outbox`` (a record's
results into the state store), ``reversals`` (the reversal planner), ``poster`` (the
idempotency protocol), ``retry`` (tenacity policy), ``summary`` (counts that add up),
``run`` (one run), ``build`` (config -> connectors and mappings). What one ``crmsync sync``
does around a run (locking, features' hooks) is ``sync.orchestration``.
"""

from sync.engine.run import Engine, Progress
from sync.engine.summary import RunSummary

__all__ = ["Engine", "Progress", "RunSummary"]
