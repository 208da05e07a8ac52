"""Mapping language versions: every file says ``version:``; older files are migrated on load.

A migration takes the raw data of version N and returns version N+1 data. None exist yet
(version 1 is the first); when the language changes incompatibly, bump ``CURRENT_VERSION``,
register the step here, and old mappings keep working unchanged on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

__all__ = ["CURRENT_VERSION", "MIGRATIONS", "MigrationProblem", "migrate"]

CURRENT_VERSION: Final = 1

#: from-version -> function turning that version's data into the next version's data
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


class MigrationProblem(ValueError):
    """A mapping file written for an older mapping version, and what to change in it."""

    def __init__(self, message: str, hint: str) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a mapping's raw data up to ``CURRENT_VERSION`` (a missing version is left to the schema)."""
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        return data
    if version > CURRENT_VERSION:
        raise MigrationProblem(
            f"mapping version {version} is newer than this crmsync understands (up to {CURRENT_VERSION})",
            "upgrade crmsync, or write the mapping for version 1",
        )
    while version < CURRENT_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise MigrationProblem(
                f"mapping version {version} is not supported",
                f"rewrite the mapping for version {CURRENT_VERSION}",
            )
        data = step(dict(data))
        version += 1
        data["version"] = version
    return data
