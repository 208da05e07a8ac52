"""The ``writeback:`` section of config.yaml.

Example::

    writeback:
      source: crm                 # the fxiaoke source whose app writes (default: the first one)
      objects:                    # per CRM object, which field gets what
        PaymentObj: {number: erp_voucher_no__c, status: erp_status__c}
        SalesOrderObj: {number: field_4xWXT__c}
      status_labels: {posted: 已过账, reversed: 已冲销}
      max_attempts: 3             # per record and value; then it is reported and left alone
      max_per_run: 500            # updates per run (the API allows 100 calls / 20 s per endpoint)
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["ObjectFields", "WritebackConfig"]

_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class ObjectFields(BaseModel):
    """Which fields of one CRM object receive the ERP number, the status and the ERP id."""

    model_config = ConfigDict(extra="forbid")

    number: str | None = Field(None, description="field for the ERP voucher number (记-12)")
    status: str | None = Field(None, description="field for the voucher status (status_labels)")
    erp_id: str | None = Field(None, description="field for the ERP's internal voucher id")

    @field_validator("number", "status", "erp_id")
    @classmethod
    def _api_name(cls, value: str | None) -> str | None:
        if value is not None and not _FIELD.match(value):
            raise ValueError(f"{value!r} is not a field API name (e.g. erp_voucher_no__c)")
        return value

    def targets(self) -> dict[str, str]:
        """what -> field, for the fields that are set."""
        return {
            k: v for k, v in (("number", self.number), ("status", self.status), ("erp_id", self.erp_id)) if v
        }


class WritebackConfig(BaseModel):
    """The ``writeback:`` section: what goes back to the CRM after posting, and how hard to try."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    source: str | None = Field(None, description="name of the fxiaoke source in `sources:`")
    objects: dict[str, ObjectFields] = Field(default_factory=dict)
    status_labels: dict[str, str] = Field(default_factory=lambda: {"posted": "已过账", "reversed": "已冲销"})
    max_attempts: int = Field(3, ge=1, le=100)
    max_per_run: int = Field(500, ge=1, le=100_000)
    state_file: str | None = Field(
        None, description="SQLite file of write-back progress (default: beside the state db)"
    )

    @field_validator("objects")
    @classmethod
    def _some_field(cls, value: dict[str, ObjectFields]) -> dict[str, ObjectFields]:
        empty = sorted(name for name, fields in value.items() if not fields.targets())
        if empty:
            raise ValueError(f"{', '.join(empty)}: name at least one of number, status, erp_id")
        return value

    @property
    def active(self) -> bool:
        return self.enabled and bool(self.objects)
