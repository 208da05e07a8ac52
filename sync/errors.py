"""The error hierarchy, organised by what the caller should do next.

- ConfigurationError: stop the run, exit code 2; a person must fix config or mapping files.
- MappingError: one record could not become a voucher; it is quarantined, the run goes on.
- TransientError: try again later (backoff); the operation may succeed unchanged.
- PermanentError: the other side refused this item; retrying unchanged will fail again.
- DestinationUnavailable: the ERP cannot be reached at all; exit code 3.
- StateError: the state store is locked, corrupt or unreachable.

Every message says what to do next (``hint``). Messages never contain secrets: code that
builds one from a response body passes it through ``sync.secrets.redact`` first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """Where in a file a problem is: 1-based line and column (0 when unknown)."""

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line and self.column:
            return f"{self.path}:{self.line}:{self.column}"
        if self.line:
            return f"{self.path}:{self.line}"
        return self.path


class CrmsyncError(Exception):
    """Root of every error crmsync raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str = "", location: Location | None = None) -> None:
        self.message = message
        self.hint = hint
        self.location = location
        super().__init__(self.render())

    def render(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


class ConfigurationError(CrmsyncError):
    """Configuration or mapping files are wrong: stop with exit code 2 and say where."""

    exit_code = 2


class MappingError(CrmsyncError):
    """A record could not be turned into a voucher (goes to quarantine with this reason)."""

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        location: Location | None = None,
        record_id: str = "",
        field: str = "",
    ) -> None:
        self.record_id = record_id
        self.field = field
        super().__init__(message, hint=hint, location=location)

    def render(self) -> str:
        text = super().render()
        return f"record {self.record_id}: {text}" if self.record_id else text


class TransientError(CrmsyncError):
    """Retry later; ``retry_after`` (seconds) is the other side's own wish when it sent one."""

    def __init__(self, message: str, *, hint: str = "", retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, hint=hint or "crmsync retries this automatically; nothing to do")


class PermanentError(CrmsyncError):
    """The other side refused the item; keep its own message for the person who fixes it."""


class DestinationUnavailable(CrmsyncError):
    """The destination cannot be reached or refuses our credentials: exit code 3."""

    exit_code = 3


class StateError(CrmsyncError):
    """The state store is locked by another run, corrupt, or cannot be opened."""

    exit_code = 2


class LockHeld(StateError):
    """Another run holds the posting lock on this state store."""

    exit_code = 4
