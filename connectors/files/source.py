"""The airbyte-cdk source over a folder of JSON Lines exports (imports airbyte_cdk: 1.3 s).

One stream per ``<ObjectApiName>.jsonl``; the stream state is the file position described in
``connectors.files.reader``. The same class runs in-process under the engine and as an
Airbyte connector (``python -m connectors.files``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Any, Final

from airbyte_cdk.models import ConnectorSpecification, FailureType, SyncMode
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream
from airbyte_cdk.sources.streams.core import CheckpointMixin
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors.files.reader import FilePosition, JsonlFile
from connectors.files.schemas import schema_for
from sync.connector import SWEEP_FIELD

__all__ = ["DEFAULT_CHECKPOINT_INTERVAL", "SPEC", "JsonlStream", "SourceFiles", "stream_names"]

DEFAULT_CHECKPOINT_INTERVAL: Final = 1000
STREAM_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

SPEC: Final[dict[str, Any]] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "crmsync file source",
    "type": "object",
    "required": ["path"],
    "additionalProperties": True,
    "properties": {
        "path": {
            "type": "string",
            "title": "Folder",
            "description": "folder holding one <ObjectApiName>.jsonl export per stream",
        },
        "streams": {
            "type": "array",
            "title": "Streams",
            "items": {"type": "string"},
            "description": "object API names to read; default: every *.jsonl file in the folder",
        },
        "checkpoint_interval": {
            "type": "integer",
            "minimum": 1,
            "default": DEFAULT_CHECKPOINT_INTERVAL,
            "description": "emit a STATE message after this many records",
        },
    },
}


def stream_names(config: Mapping[str, Any]) -> list[str]:
    """The configured streams, or every ``*.jsonl`` in the folder, sorted."""
    configured = config.get("streams")
    if configured:
        return list(dict.fromkeys(str(s) for s in configured))
    folder = Path(config["path"])
    return sorted(p.stem for p in folder.glob("*.jsonl") if STREAM_NAME.match(p.stem))


class JsonlStream(Stream, CheckpointMixin):
    """One object's export file.

    ``cursor_field`` is declared so Airbyte offers incremental sync; the state itself is a
    file position (bytes, lines, prefix hash), not a field value, because an export need not
    be sorted by any field.
    """

    primary_key = "_id"

    def __init__(
        self,
        folder: Path,
        name: str,
        checkpoint_interval: int = DEFAULT_CHECKPOINT_INTERVAL,
        *,
        sweep_markers: bool = True,
    ) -> None:
        super().__init__()
        self._folder = folder
        self._name = name
        self._sweep_markers = sweep_markers
        self._interval: int = checkpoint_interval
        self._file = JsonlFile(folder / f"{name}.jsonl", None, self._warn)

    @property
    def name(self) -> str:
        return self._name

    @property
    def cursor_field(self) -> str:
        return "last_modified_time"

    @property
    def state_checkpoint_interval(self) -> int:
        return self._interval

    @property
    def state(self) -> MutableMapping[str, Any]:
        return self._file.state()

    @state.setter
    def state(self, value: MutableMapping[str, Any]) -> None:
        start = FilePosition.from_state(value, f"{self._name}.jsonl")
        if value and start is None:
            self._warn(f"{self._name}: state {dict(value)!r} is not a file position; reading from the start")
        self._file = JsonlFile(self._folder / f"{self._name}.jsonl", start, self._warn)

    def get_json_schema(self) -> Mapping[str, Any]:  # type: ignore[override]
        return schema_for(self._name)

    def read_records(
        self,
        sync_mode: SyncMode,
        cursor_field: list[str] | None = None,
        stream_slice: Mapping[str, Any] | None = None,
        stream_state: Mapping[str, Any] | None = None,
    ) -> Iterable[Mapping[str, Any]]:
        if sync_mode == SyncMode.full_refresh:
            self._file = JsonlFile(self._folder / f"{self._name}.jsonl", None, self._warn)
        for record in self._file.records():
            if self._sweep_markers or SWEEP_FIELD not in record:
                yield record

    def _warn(self, message: str) -> None:
        self.logger.warning(message)


class SourceFiles(AbstractSource):
    """A folder of Fxiaoke-shaped JSON Lines exports.

    ``sweep_markers``: emit the end-of-file marker that lets ``crmsync sync`` resolve fixed
    problem lines (``sync.connector.SWEEP_FIELD``). The standalone connector turns it off:
    any other destination would store the marker as a row.
    """

    def __init__(self, *, sweep_markers: bool = True) -> None:
        super().__init__()
        self.sweep_markers = sweep_markers

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        from sync.platform_spec import documentation_url

        return ConnectorSpecification(
            documentationUrl=documentation_url("source-crmsync-files"),
            connectionSpecification=SPEC,
            supportsIncremental=True,
        )

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> tuple[bool, Any]:
        folder = Path(config["path"])
        if not folder.is_dir():
            return (
                False,
                f"folder {folder} does not exist; set path to the folder of *.jsonl exports",
            )
        bad = [s for s in config.get("streams") or () if not STREAM_NAME.match(str(s))]
        if bad:
            return False, f"stream names {bad} are not object API names (letters, digits, _)"
        names = stream_names(config)
        if not names:
            return (
                False,
                f"folder {folder} holds no *.jsonl; export one file per object, e.g. PaymentObj.jsonl",
            )
        missing = [n for n in names if not (folder / f"{n}.jsonl").is_file()]
        if missing:
            listed = ", ".join(f"{n}.jsonl" for n in missing)
            return False, f"{folder}: {listed} not found; export them or remove them from streams"
        return True, None

    @property
    def raise_exception_on_missing_stream(self) -> bool:
        return True  # a catalog stream this folder lacks is a config_error, never skipped with exit 0

    def streams(self, config: Mapping[str, Any]) -> list[Stream]:
        folder = Path(config["path"])
        if not folder.is_dir():  # zero records with exit 0 would look like a quiet day
            raise AirbyteTracedException(
                message=f"folder {folder} does not exist; set path to the folder of *.jsonl exports",
                failure_type=FailureType.config_error,
            )
        interval = int(config.get("checkpoint_interval") or DEFAULT_CHECKPOINT_INTERVAL)
        return [
            JsonlStream(folder, name, interval, sweep_markers=self.sweep_markers)
            for name in stream_names(config)
        ]
