"""Reminders by SMS (短信) through Aliyun's SMS service (Dysmsapi 2017-05-25, ``SendSms``).

A Chinese SMS is sent from an approved template (模板, ``TemplateCode``) under an approved
signature (签名, ``SignName``); the text is the template with its variables filled in
(``TemplateParam``, a JSON object). The channel's ``template_params`` say which reminder
values fill which variable, as jinja templates over the reminder's context (customer, due,
total, unapplied, level_label, oldest_overdue_days, as_of …).

The request is Aliyun's RPC style: every parameter, with ``AccessKeyId``, ``Timestamp``
(UTC, ``YYYY-MM-DDThh:mm:ssZ``), ``SignatureMethod=HMAC-SHA1``, ``SignatureVersion=1.0`` and
a fresh ``SignatureNonce``, is signed: the parameters sorted by name, each name and value
percent-encoded (RFC 3986: space %20, ``*`` %2A, ``~`` kept), joined with ``&``; the string
to sign is ``POST&%2F&`` + that string percent-encoded once more; the signature is the base64
HMAC-SHA1 of it keyed with the AccessKey secret + ``&``. The answer is JSON with ``Code``
(``OK`` when accepted), ``Message``, ``BizId`` and ``RequestId``.

Throttling (``isv.BUSINESS_LIMIT_CONTROL``, ``Throttling.User``), a busy service and network
failures are transient (the next run tries again); every other code is the channel's
problem and named with Aliyun's message (a wrong key or signature, a template or signature
not approved, 余额不足 no balance, an illegal mobile number).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from urllib.parse import quote

from jinja2.sandbox import SandboxedEnvironment

from sync.errors import ConfigurationError, PermanentError, TransientError
from sync.reports.reminders.config import SmsChannel
from sync.reports.reminders.message import Reminder
from sync.secrets import redact

__all__ = ["send_sms", "signature", "signed_params", "string_to_sign"]

#: codes that mean "not now": throttled or the service busy
_TRANSIENT_CODES = frozenset(
    {"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "Throttling", "ServiceUnavailable", "InternalError"}
)
#: what each common refusal asks the operator to do
_HINTS = {
    "SignatureDoesNotMatch": "check access_key_secret (the AccessKey secret of the RAM user)",
    "InvalidAccessKeyId.NotFound": "check access_key_id",
    "isv.SMS_SIGNATURE_ILLEGAL": "sign_name must be an approved 短信签名 of this account",
    "isv.SMS_TEMPLATE_ILLEGAL": "template_code must be an approved 短信模板 of this account",
    "isv.TEMPLATE_MISSING_PARAMETERS": "template_params must fill every variable of the template",
    "isv.AMOUNT_NOT_ENOUGH": "the Aliyun account has no balance left: top it up",
    "isv.MOBILE_NUMBER_ILLEGAL": "check the numbers in to: (11-digit mainland mobile numbers)",
}
_ENV = SandboxedEnvironment(autoescape=False)


def _encode(text: str) -> str:
    """RFC 3986 percent-encoding as Aliyun signs it (space %20, * %2A, ~ kept)."""
    return quote(text, safe="~")


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    canonical = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items()))
    return f"{method}&{_encode('/')}&{_encode(canonical)}"


def signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    mac = hmac.new(f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def signed_params(
    channel: SmsChannel, reminder: Reminder, *, now: dt.datetime | None = None
) -> dict[str, str]:
    """Every form field of the SendSms request, ``Signature`` included."""
    ctx = reminder.context()
    ctx["oldest_overdue_days"] = reminder.oldest_overdue_days
    try:
        values = {k: _ENV.from_string(v).render(ctx).strip() for k, v in channel.template_params.items()}
    except Exception as exc:  # jinja's error kinds: all a configuration problem
        raise ConfigurationError(
            f"reminders channel {channel.name}: template_params cannot be rendered: {exc}",
            hint="fix the jinja in template_params",
        ) from None
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    params = {
        "AccessKeyId": channel.access_key_id,
        "Action": "SendSms",
        "Format": "JSON",
        "OutId": reminder.id[:64],
        "PhoneNumbers": ",".join(channel.to),
        "RegionId": channel.region,
        "SignName": channel.sign_name,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": uuid.uuid4().hex,
        "SignatureVersion": "1.0",
        "TemplateCode": channel.template_code,
        "TemplateParam": json.dumps(values, ensure_ascii=False, separators=(",", ":")),
        "Timestamp": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": "2017-05-25",
    }
    params["Signature"] = signature(channel.access_key_secret.get_secret_value(), "POST", params)
    return params


def send_sms(channel: SmsChannel, reminder: Reminder) -> str:
    """Send the reminder; returns Aliyun's BizId. Raises Transient/PermanentError on failure."""
    from sync.http import make_session, resolve_transport

    session = make_session(
        resolve_transport(channel.transport, channel.timeout_seconds), system=f"sms {channel.name}"
    )
    try:
        response = session.post(
            channel.endpoint.rstrip("/") + "/",
            data=signed_params(channel, reminder),
            headers={"Accept": "application/json", "User-Agent": "crmsync-reminders"},
            timeout=channel.timeout_seconds,
        )
    except Exception as exc:  # requests' many connection errors: all mean "try later"
        raise TransientError(redact(f"sms {channel.name}: {type(exc).__name__}: {exc}")) from None
    finally:
        session.close()
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    code = str(answer.get("Code", ""))
    message = redact(str(answer.get("Message", response.text[:200])))
    if response.status_code == 200 and code == "OK":
        return f"BizId {answer.get('BizId', '')}"
    text = f"sms {channel.name}: Aliyun answered {code or f'HTTP {response.status_code}'}: {message}"
    if code in _TRANSIENT_CODES or (not code and response.status_code >= 500):
        raise TransientError(text)
    raise PermanentError(text, hint=_HINTS.get(code, "see Aliyun's SMS error code list for this code"))
