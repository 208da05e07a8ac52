"""The top-level shape of config.yaml. Connector sections are validated by the connector's
own ``Config`` model (see registry), so this file never changes when a connector is added."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["AppConfig", "ConnectorSection", "StateSection"]


class StateSection(BaseModel):
    """Where the state store lives and how long a run waits for another's lock."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(
        "sqlite:///.crmsync/state.db",
        description="sqlite:///relative/or/absolute.db or postgresql://user@host:5432/db",
    )
    lock_timeout_seconds: float = Field(
        0, ge=0, description="wait this long for another run's lock; 0 = exit at once"
    )
    key: SecretStr | None = Field(
        None,
        description="the key that encrypts customer data in the state (base64 of 32 bytes), e.g. "
        "${CRMSYNC_STATE_KEY} from the secrets file; default: that variable, else (SQLite) a key file",
    )
    key_file: str | None = Field(
        None, description="a file holding the key (default for SQLite: the state file's name + .key)"
    )
    previous_keys: list[SecretStr] = Field(
        default_factory=list, description="keys data may still be sealed with (while rotating keys)"
    )

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must be sqlite:///path.db or postgresql://user@host:5432/db?schema=crmsync")
        return value


class ConnectorSection(BaseModel):
    """A source or destination: ``type`` picks the connector, the other keys are its own."""

    model_config = ConfigDict(extra="allow")
    type: str


class AppConfig(BaseModel):
    """config.yaml after ${ENV} expansion and path resolution."""

    model_config = ConfigDict(extra="forbid")

    state: StateSection = Field(default_factory=StateSection)
    sources: dict[str, ConnectorSection] = Field(
        min_length=1, description="named sources; mappings refer to them"
    )
    destination: ConnectorSection = Field(description="where vouchers are posted")
    mappings: list[str] = Field(min_length=1, description="globs of mapping files")
    schedule: str | None = Field(None, description="cron expression for `crmsync schedule`")
    secrets_file: str | None = Field(None, description="KEY=value file for ${KEY} references")
    lookups_dir: str | None = Field(None, description="folder for CSV lookups named in mappings")
    chart_of_accounts: str | None = Field(
        None, description="CSV chart of accounts (code,name,…) that validate/preview check accounts against"
    )
    reports: dict[str, Any] = Field(
        default_factory=dict, description="report options (link templates, language)"
    )
    reconcile: dict[str, Any] = Field(default_factory=dict, description="reconciliation options")
    reminders: dict[str, Any] = Field(default_factory=dict, description="collection reminder channels")
    writeback: dict[str, Any] = Field(default_factory=dict, description="ERP number write-back to the CRM")
    audit: dict[str, Any] = Field(default_factory=dict, description="audit trail options")
    console: dict[str, Any] = Field(default_factory=dict, description="the web console (`crmsync serve`)")

    # filled by the loader, not by the file
    base_dir: Path = Field(default=Path("."), exclude=True)
    config_path: Path = Field(default=Path("config.yaml"), exclude=True)

    def resolve_path(self, value: str | Path) -> Path:
        """A path from the config, relative to the config file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)
