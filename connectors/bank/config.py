"""The config section of connectors.bank: what config.yaml may say, checked before anything runs.

Kept apart from the factory so that the source or destination can import it without a cycle.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from sync.banking import BANK_FORMATS
from sync.http import TransportConfig

__all__ = ["FILE_FORMATS", "FORMATS", "Config", "Format"]


Format = Literal["camt052", "camt053", "camt054", "mt940", "cmb", "stripe", "alipay_bill", "wechat_bill"]
FORMATS: tuple[str, ...] = BANK_FORMATS
FILE_FORMATS: tuple[str, ...] = ("camt052", "camt053", "camt054", "mt940", "alipay_bill", "wechat_bill")


class Config(BaseModel):
    """A bank or platform source section."""

    model_config = ConfigDict(extra="forbid")

    type: Format | None = Field(None, description="the config.yaml type; same as format")
    format: Format | None = Field(
        None, description="camt052|camt053|camt054|mt940|cmb|stripe|alipay_bill|wechat_bill"
    )
    path: str | None = Field(None, description="glob of statement/bill files, e.g. inbox/bank/*.xml")
    account: str | None = Field(None, description="bill formats: the platform account name shown on records")
    book_interim: bool = Field(
        False,
        description="mt940, camt052: book the entries of interim reports (MT942, camt.052; default: "
        "not booked, the end-of-day statement books them); only for an account whose end-of-day "
        "statement is not read too, or its lines would be booked twice",
    )
    # CMB 银企直连 (DCTRSINF)
    base_url: str | None = Field(
        None, description="cmb: gateway URL; stripe: API base (default api.stripe.com)"
    )
    userid: str | None = Field(None, description="cmb: the enterprise user id (head.userid)")
    secret: SecretStr | None = Field(None, description="cmb: the signing key")
    bbknbr: str | None = Field(None, description="cmb: branch code 分行号 of the accounts")
    accounts: list[str] = Field(default_factory=list, description="cmb: account numbers to query")
    start_date: dt.date | None = Field(None, description="cmb/stripe: first day to read on the first run")
    end_date: dt.date | None = Field(None, description="cmb/stripe: last day to read (default today, UTC+8)")
    # Stripe
    api_key: SecretStr | None = Field(None, description="stripe: secret key sk_live_… / restricted key rk_…")
    order_metadata_key: str = Field("order_no", description="stripe: metadata key carrying our order number")
    overlap_days: int = Field(3, ge=0, le=60, description="stripe: re-read this many days before the cursor")
    page_size: int = Field(100, ge=1, le=100)
    transport: TransportConfig = Field(default_factory=TransportConfig)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.type and self.format and self.type != self.format:
            raise ValueError(f"type {self.type!r} and format {self.format!r} disagree; give one of them")
        fmt = self.format or self.type
        if fmt is None:
            raise ValueError("format is required: one of " + ", ".join(FORMATS))
        object.__setattr__(self, "format", fmt)
        if fmt in FILE_FORMATS and not self.path:
            raise ValueError(f"{fmt} reads files: give path, a glob such as inbox/bank/*.xml")
        if fmt == "cmb":
            missing = [k for k in ("base_url", "userid", "secret", "bbknbr") if not getattr(self, k)]
            if missing or not self.accounts:
                raise ValueError(
                    "cmb needs base_url, userid, secret, bbknbr and accounts; missing: "
                    + ", ".join(missing + ([] if self.accounts else ["accounts"]))
                )
            if self.start_date is None:
                raise ValueError("cmb needs start_date (YYYY-MM-DD): the first day to query")
        if fmt == "stripe" and self.api_key is None:
            raise ValueError("stripe needs api_key (use ${STRIPE_API_KEY}, never the key itself)")
        return self

    def plain(self) -> dict[str, Any]:
        """The dict the airbyte source takes (secrets revealed, for in-process use only)."""
        data = self.model_dump(mode="json", exclude_none=True)
        for key in ("secret", "api_key"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value.get_secret_value()
        data.pop("type", None)
        return data
