"""The ``reminders:`` section of config.yaml.

Example::

    reminders:
      interval_hours: 72          # the same reminder is not sent again within this time
      min_overdue_days: 1         # only orders at least this many days past due
      min_amount: "100.00"        # skip customers owing less than this in total
      levels:                     # the dunning ladder (optional): by the oldest overdue order
        - {name: first, min_overdue_days: 1}
        - {name: second, min_overdue_days: 30, label_zh: 第二次催款, label_en: Second reminder}
        - {name: final, min_overdue_days: 60, label_zh: 最后通知, label_en: Final notice}
      owner_emails: {张伟: zhangwei@example.cn}   # for cc_owner: true
      channels:
        - name: finance-mail
          type: email
          host: smtp.exmail.qq.com
          port: 465
          security: ssl           # ssl | starttls | none
          username: ar@example.cn
          password: ${SMTP_PASSWORD}
          sender: "财务部 <ar@example.cn>"
          to: [sales-lead@example.cn]
          language: zh            # zh | en
        - name: wecom-robot
          type: webhook
          url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${WECOM_KEY}
          style: wecom            # generic | wecom | dingtalk
          secret: ${WEBHOOK_SECRET}   # optional: HMAC-SHA256 signature headers
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from sync.http import TransportConfig
from sync.model import Amount
from sync.secrets import register_secret

__all__ = ["DunningLevel", "EmailChannel", "RemindersConfig", "SmsChannel", "WebhookChannel"]


class _Channel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="stable id: the sent-log key")
    language: Literal["zh", "en"] = "zh"
    subject: str | None = Field(None, description="jinja template overriding the default subject")
    body: str | None = Field(None, description="jinja template overriding the default text")


class EmailChannel(_Channel):
    """Reminders by SMTP: where to connect, who sends, who receives."""

    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(465, ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "ssl"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(min_length=3, description="From: header, e.g. 财务部 <ar@example.cn>")
    to: list[str] = Field(min_length=1)
    cc: list[str] = Field(default_factory=list)
    cc_owner: bool = Field(
        False, description="also send to the sales owners of the overdue orders (owner_emails)"
    )
    timeout_seconds: float = Field(30, gt=0, le=600)

    @field_validator("password")
    @classmethod
    def _register(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            register_secret(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _login_pair(self) -> EmailChannel:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither (no SMTP login)")
        return self


class WebhookChannel(_Channel):
    """Reminders to a chat robot (DingTalk, WeCom, Feishu) or any HTTPS endpoint, signed when a secret is
    set.
    """

    type: Literal["webhook"]
    url: SecretStr = Field(description="robot URLs carry their key in the query string: treated as a secret")
    style: Literal["generic", "wecom", "dingtalk"] = "generic"
    secret: SecretStr | None = Field(None, description="HMAC-SHA256 signing secret")
    timeout_seconds: float = Field(10, gt=0, le=120)
    transport: TransportConfig | None = Field(
        None, description="TLS verification, CA bundle, timeouts (default: verified, timeout_seconds)"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value()
        if not text.startswith(("http://", "https://")):
            raise ValueError("url must start with https:// (or http:// for a local receiver)")
        if "?" in text:
            register_secret(text.split("?", 1)[1])  # robot keys live in the query string
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            register_secret(value.get_secret_value())
        return value


class SmsChannel(_Channel):
    """Reminders as SMS through Aliyun (阿里云短信服务)."""

    type: Literal["sms"]
    provider: Literal["aliyun"] = "aliyun"
    endpoint: str = Field("https://dysmsapi.aliyuncs.com", description="the SMS service's address")
    region: str = "cn-hangzhou"
    access_key_id: str = Field(min_length=1)
    access_key_secret: SecretStr
    sign_name: str = Field(min_length=1, description="the approved 短信签名, e.g. 某某科技")
    template_code: str = Field(min_length=1, description="the approved 短信模板, e.g. SMS_462315789")
    template_params: dict[str, str] = Field(
        default_factory=lambda: {"customer": "{{ customer }}", "amount": "{{ due }}"},
        description="template variable -> jinja template over the reminder (customer, due, total, …)",
    )
    to: list[str] = Field(min_length=1, description="mobile numbers that receive the reminders")
    timeout_seconds: float = Field(10, gt=0, le=120)
    transport: TransportConfig | None = None

    @field_validator("access_key_secret")
    @classmethod
    def _register(cls, value: SecretStr) -> SecretStr:
        register_secret(value.get_secret_value())
        return value

    @field_validator("to")
    @classmethod
    def _mobiles(cls, value: list[str]) -> list[str]:
        bad = [n for n in value if not n.lstrip("+").isdigit()]
        if bad:
            raise ValueError(f"not mobile numbers: {', '.join(bad)}")
        return value


Channel = Annotated[EmailChannel | WebhookChannel | SmsChannel, Field(discriminator="type")]


class DunningLevel(BaseModel):
    """One step of the dunning ladder (催款级别): from how many days overdue, and its own words."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="stable id, e.g. first, final")
    min_overdue_days: int = Field(
        ge=1, le=3650, description="the customer's oldest overdue order is at least this late"
    )
    label_zh: str = Field("催款提醒", description="shown in the default subject, e.g. 第二次催款, 最后通知")
    label_en: str = Field("Overdue", description="the English label, e.g. Second reminder, Final notice")
    subject: str | None = Field(None, description="jinja template for this level (over the channel's)")
    body: str | None = Field(None, description="jinja template for this level (over the channel's)")


class RemindersConfig(BaseModel):
    """The ``reminders:`` section: when a customer is chased, how often, and through which channels."""

    model_config = ConfigDict(extra="forbid")

    interval_hours: float = Field(24, gt=0, le=24 * 366)
    min_overdue_days: int = Field(1, ge=1, le=3650)
    min_amount: Amount = Decimal("0.01")
    channels: list[Channel] = Field(default_factory=list)
    levels: list[DunningLevel] = Field(
        default_factory=list,
        description="the dunning ladder: each reminder takes the highest level its oldest overdue order "
        "reached; a customer moving up a level is reminded again, in that level's words",
    )
    owner_emails: dict[str, str] = Field(
        default_factory=dict,
        description="sales owner (name as the CRM shows it, or employee id) -> e-mail address, for "
        "email channels with cc_owner: true",
    )
    sent_log: str | None = Field(
        None,
        description="the sent-reminder file of releases before the log moved into the state store "
        "(default: reminders.db beside the state db); its entries are taken over once",
    )

    @field_validator("levels")
    @classmethod
    def _ladder(cls, value: list[DunningLevel]) -> list[DunningLevel]:
        days = [level.min_overdue_days for level in value]
        if days != sorted(set(days)):
            raise ValueError("levels must climb: each min_overdue_days larger than the one before")
        names = [level.name for level in value]
        if len(set(names)) != len(names):
            raise ValueError("level names must be unique")
        return value

    @field_validator("channels")
    @classmethod
    def _unique(cls, value: list[Channel]) -> list[Channel]:
        names = [c.name for c in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"channel names must be unique; repeated: {', '.join(dupes)}")
        return value
