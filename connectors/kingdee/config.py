"""The config section of connectors.kingdee: what config.yaml may say, checked before anything runs.

Kept apart from the factory so that the source or destination can import it without a cycle.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.kingdee.auth import Credentials
from connectors.kingdee.render import RenderSettings
from sync.http import TransportConfig
from sync.secrets import register_secret

__all__ = ["Config"]


_FLEX_KEY = re.compile(r"^FDETAILID__F[A-Z0-9_]+$")
_FIELD = re.compile(r"^F[A-Za-z0-9_]+$")


class Config(BaseModel):
    """The ``destination:`` section for Kingdee K/3 Cloud (金蝶云星空)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["kingdee"] = "kingdee"
    base_url: str = Field(description="the site, e.g. https://erp.example.com/k3cloud/")
    acct_id: str = Field(min_length=1, description="数据中心ID (data-centre id), not the account-set name")
    username: str = Field(min_length=1, description="the integration user named in 第三方系统登录授权")
    app_id: str = Field("", description="AppID of the 第三方系统登录授权 entry, shaped <clientId>_<32 chars>")
    app_secret: SecretStr = Field(
        description="AppSecret of that entry (the user's password when app_id is empty)"
    )
    lcid: int = Field(2052, description="2052 简体中文, 1033 English, 3076 繁體中文")
    org_num: str = Field("0", description="organisation number sent in X-Kd-Appdata; 0 = the user's default")
    auth: Literal["signature", "login"] = Field(
        "signature", description="signature: X-Api/X-Kd headers on every call; login: LoginBySign session"
    )
    account_book: str = Field(min_length=1, description="账簿编码, e.g. 001")
    voucher_group: str = Field(
        "PRE001", min_length=1, description="凭证字 code; PRE001 is 记 in standard data"
    )
    currency_map: dict[str, str] = Field(
        default_factory=lambda: {"CNY": "PRE001"}, description="ISO currency -> Kingdee 币别 code"
    )
    flex_map: dict[str, str] = Field(
        default_factory=lambda: {"customer": "FDETAILID__FFLEX6"},
        description="voucher dimension -> FDetailID key (customer FFLEX6, supplier FFLEX4, dept FFLEX5)",
    )
    external_ref_field: str = Field(
        "FBillNo",
        description="GL_VOUCHER field that carries and finds our reference: FBillNo, a BOS custom "
        "header field (F_XXX_SyncKey) where the coding rule overwrites FBillNo, or FEXPLANATION "
        "(the reference leads each entry's 摘要; one query per voucher to find it)",
    )
    lookup_by_view: Literal["after_lost_answer", "always", "never"] = Field(
        "after_lost_answer",
        description="View by Number for vouchers ExecuteBillQuery did not return: after a lost "
        "answer (default), before every first send too (tenants whose query hides saved vouchers "
        "even with a status filter; one call per voucher), or never",
    )
    batch_size: int = Field(50, ge=1, le=500, description="vouchers per BatchSave call")
    submit: bool = Field(False, description="Submit each voucher after Save")
    audit: bool | Literal["auto"] = Field(
        False, description="Audit after Submit; 'auto' sends IsAutoSubmitAndAudit on the Save instead"
    )
    timeout_seconds: float = Field(30.0, gt=0, le=600, description="per-request timeout")
    transport: TransportConfig | None = Field(
        None, description="TLS verification, CA bundle, timeouts (default: verified, timeout_seconds)"
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(
                "base_url must start with http:// or https://, e.g. https://erp.example.com/k3cloud/"
            )
        return value.rstrip("/") + "/"

    @field_validator("currency_map")
    @classmethod
    def _currencies(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if not re.match(r"^[A-Z]{3}$", k)]
        if bad:
            raise ValueError(f"currency_map keys must be ISO codes such as CNY, not {', '.join(bad)}")
        return value

    @field_validator("flex_map")
    @classmethod
    def _flex(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [f"{k}: {v}" for k, v in value.items() if not _FLEX_KEY.match(v)]
        if bad:
            raise ValueError(
                f"flex_map values must be FDetailID keys such as FDETAILID__FFLEX6 or FDETAILID__FF100002, "
                f"not {'; '.join(bad)}"
            )
        return value

    @field_validator("external_ref_field")
    @classmethod
    def _ref_field(cls, value: str) -> str:
        if not _FIELD.match(value):
            raise ValueError(
                "external_ref_field must be a field key such as FBillNo, F_XXX_SyncKey or FEXPLANATION"
            )
        return value

    @model_validator(mode="after")
    def _app_id(self) -> Config:
        if self.auth == "signature":
            parts = self.app_id.split("_", 1)
            if len(parts) != 2 or not parts[0] or len(parts[1]) != 32:
                raise ValueError(
                    "auth: signature needs app_id shaped <clientId>_<32 characters>, as shown by "
                    "系统管理 → 第三方系统登录授权; use auth: login for a site without that entry"
                )
        return self

    def credentials(self) -> Credentials:
        secret = self.app_secret.get_secret_value()
        register_secret(secret)
        return Credentials(self.acct_id, self.username, self.app_id, secret, self.lcid, self.org_num)

    def render_settings(self) -> RenderSettings:
        return RenderSettings(
            account_book=self.account_book,
            voucher_group=self.voucher_group,
            currency_map=dict(self.currency_map),
            flex_map=dict(self.flex_map),
            external_ref_field=self.external_ref_field,
            auto_submit_audit=self.audit == "auto",
        )
