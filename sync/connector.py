"""What the engine hands a connector factory, and what a source factory hands back.

Every connector package has ``factory.py`` with ``Config`` (the pydantic model of its
config section; secrets typed ``SecretStr``; ``extra='forbid'``) and
``build(config, ctx) -> Destination | SourceHandle``. The registry in sync.config names the
factories; nothing else in the engine knows a connector by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BuildContext", "SourceHandle"]


@dataclass(frozen=True)
class BuildContext:
    """Where the connector runs: its section name and the folder relative paths resolve to."""

    name: str
    base_dir: Path
    #: a folder the connector may keep files in (e.g. read-file hashes), inside .crmsync/
    work_dir: Path = field(default=Path(".crmsync"))

    def resolve(self, value: str | Path) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p


@dataclass(frozen=True)
class SourceHandle:
    """An airbyte-cdk source ready to run in-process, with the config its ``read`` takes.

    ``source`` is an ``airbyte_cdk.sources.AbstractSource``; the engine builds the catalog
    from ``source.streams(config)``, passes the per-stream state it stored, and commits each
    STATE message it gets back together with the vouchers mapped from the records before it.
    """

    source: Any
    config: Mapping[str, Any]
    #: the system the records come from, for provenance (e.g. "fxiaoke", "files", "camt053")
    system: str
