"""Sending one reminder: SMTP email or a JSON webhook (企业微信 / 钉钉 robots, or anything else).

Webhook signature (when ``secret`` is configured), on every style:

- ``X-Crmsync-Timestamp``: Unix seconds when the request was signed;
- ``X-Crmsync-Signature``: ``sha256=`` + hex HMAC-SHA256 of ``"<timestamp>.<raw body>"``
  with the secret as key. A receiver recomputes it over the exact body bytes, compares in
  constant time, and rejects timestamps older than a few minutes (replays).

With ``style: dingtalk`` the URL also gets DingTalk's own ``timestamp`` (ms) and ``sign``
(base64 HMAC-SHA256 of ``"<timestamp>\\n<secret>"``), which DingTalk robots require when
加签 is on. 企业微信 robots authenticate by the key in the URL only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape
from typing import Any
from urllib.parse import quote_plus

from sync.errors import PermanentError, TransientError
from sync.reports.reminders.config import EmailChannel, WebhookChannel
from sync.reports.reminders.message import Reminder, render_text
from sync.secrets import redact

__all__ = ["send_email", "send_webhook", "sign_body", "webhook_body"]


def owner_addresses(reminder: Reminder, owner_emails: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(addresses of the overdue orders' sales owners, owners without one), each once, in order."""
    found: list[str] = []
    missing: list[str] = []
    for item in reminder.items:
        owner = item.order.owner
        address = owner_emails.get(owner)
        if address and address not in found:
            found.append(address)
        elif not address and owner and owner not in missing:
            missing.append(owner)
    return found, missing


def send_email(
    channel: EmailChannel, reminder: Reminder, owner_emails: Mapping[str, str] | None = None
) -> str:
    """Send one email; returns the Message-ID (and owners it could not copy). Raises
    Transient/PermanentError on failure."""
    subject, body = render_text(reminder, channel.language, channel.subject, channel.body)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = channel.sender
    msg["To"] = ", ".join(channel.to)
    cc = list(channel.cc)
    missing: list[str] = []
    if channel.cc_owner:
        owners, missing = owner_addresses(reminder, owner_emails or {})
        cc += [a for a in owners if a not in cc and a not in channel.to]
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="crmsync")
    msg["X-Crmsync-Reminder"] = reminder.id
    msg.set_content(body, charset="utf-8")
    if channel.body is None:  # the default text also goes as a small html table; custom text stays text
        msg.add_alternative(html_body(reminder, channel.language), subtype="html", charset="utf-8")
    try:
        if channel.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                channel.host,
                channel.port,
                timeout=channel.timeout_seconds,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout_seconds)
        with smtp:
            if channel.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if channel.username and channel.password:
                smtp.login(channel.username, channel.password.get_secret_value())
            smtp.send_message(msg)
    except smtplib.SMTPResponseException as exc:
        text = redact(f"SMTP {channel.host}: {exc.smtp_code} {exc.smtp_error!r}")
        if 400 <= exc.smtp_code < 500:
            raise TransientError(text) from None
        raise PermanentError(text, hint="check the channel's sender, recipients and login") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientError(redact(f"SMTP {channel.host}:{channel.port}: {exc}")) from None
    note = (
        f" (no address for sales owner {', '.join(missing)}: add it to reminders.owner_emails)"
        if missing
        else ""
    )
    return str(msg["Message-ID"]) + note


def html_body(reminder: Reminder, lang: str) -> str:
    """The overdue orders as an html table (inline styles only: mail clients drop <style>)."""
    ctx = reminder.context()
    zh = lang == "zh"
    heads = (
        ["订单", "下单日期", "到期日", "逾期天数", "未收金额", "负责人"]
        if zh
        else ["Order", "Ordered", "Due", "Days overdue", "Open", "Owner"]
    )
    cell = 'style="border:1px solid #ccd;padding:3px 8px"'
    num = 'style="border:1px solid #ccd;padding:3px 8px;text-align:right"'
    rows = "".join(
        f"<tr><td {cell}>{escape(i['order'])}</td><td {cell}>{i['order_date']}</td><td {cell}>{i['due']}</td>"
        f"<td {num}>{i['overdue_days']}</td><td {num}>{i['open']}</td>"
        f"<td {cell}>{escape(i['owner'])}</td></tr>"
        for i in ctx["items"]
    )
    intro = (
        f"{escape(ctx['customer'])} 截至 {ctx['as_of']} 逾期未收合计 <b>{ctx['total']}</b> 元："
        if zh
        else f"As of {ctx['as_of']}, {escape(ctx['customer'])} owes <b>{ctx['total']}</b> CNY past due:"
    )
    head = "".join(
        f'<th style="border:1px solid #ccd;padding:3px 8px;background:#eef3f8">{h}</th>' for h in heads
    )
    footer = "本提醒由 crmsync 自动发送。" if zh else "Sent automatically by crmsync."
    cash = ""
    if ctx["has_unapplied"]:
        cash = (
            f"<p>另有未核销回款 <b>{ctx['unapplied']}</b> 元（已收到、尚未对应到订单），"
            f"抵扣后仍需回款 <b>{ctx['due']}</b> 元；请财务核销。</p>"
            if zh
            else f"<p>The customer also has <b>{ctx['unapplied']}</b> CNY of unapplied cash: "
            f"<b>{ctx['due']}</b> CNY remain to be paid; finance should apply it.</p>"
        )
    return (
        f'<html><body style="font-family:sans-serif;font-size:13px"><p>{intro}</p>'
        f'<table style="border-collapse:collapse"><tr>{head}</tr>{rows}</table>{cash}'
        f'<p style="color:#666">{footer}</p></body></html>'
    )


def sign_body(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` over ``"<timestamp>.<body>"`` (see the module docstring)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def webhook_body(channel: WebhookChannel, reminder: Reminder) -> dict[str, Any]:
    subject, text = render_text(reminder, channel.language, channel.subject, channel.body)
    if channel.style == "wecom":
        return {"msgtype": "text", "text": {"content": f"{subject}\n{text}"}}
    if channel.style == "dingtalk":
        return {"msgtype": "text", "text": {"content": f"{subject}\n{text}"}}
    return {**reminder.payload(), "subject": subject, "text": text}


def _dingtalk_url(url: str, secret: str, now_ms: int) -> str:
    mac = hmac.new(secret.encode(), f"{now_ms}\n{secret}".encode(), hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(mac).decode())
    return f"{url}{'&' if '?' in url else '?'}timestamp={now_ms}&sign={sign}"


def send_webhook(channel: WebhookChannel, reminder: Reminder) -> str:
    """POST the reminder; robots answer HTTP 200 with ``errcode``, which is checked too."""
    from sync.http import make_session, resolve_transport

    body = json.dumps(webhook_body(channel, reminder), ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "crmsync-reminders"}
    url = channel.url.get_secret_value()
    if channel.secret is not None:
        secret = channel.secret.get_secret_value()
        now = int(time.time())
        headers["X-Crmsync-Timestamp"] = str(now)
        headers["X-Crmsync-Signature"] = sign_body(secret, now, body)
        if channel.style == "dingtalk":
            url = _dingtalk_url(url, secret, now * 1000)
    session = make_session(
        resolve_transport(channel.transport, channel.timeout_seconds), system=f"webhook {channel.name}"
    )
    try:
        response = session.post(url, data=body, headers=headers, timeout=channel.timeout_seconds)
    except Exception as exc:  # requests' many connection errors: all mean "try later"
        raise TransientError(redact(f"webhook {channel.name}: {type(exc).__name__}: {exc}")) from None
    finally:
        session.close()
    text = redact(response.text[:300])
    if response.status_code == 429 or response.status_code >= 500:
        raise TransientError(f"webhook {channel.name}: HTTP {response.status_code}: {text}")
    if response.status_code >= 300:
        raise PermanentError(
            f"webhook {channel.name}: HTTP {response.status_code}: {text}",
            hint="check the channel's url and secret",
        )
    if channel.style in ("wecom", "dingtalk"):
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if answer.get("errcode", 0) != 0:
            raise PermanentError(
                f"webhook {channel.name}: robot refused: {text}",
                hint="check the robot key, 加签 secret and keyword rules",
            )
    return f"HTTP {response.status_code}"
