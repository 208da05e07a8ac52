"""Reminders: sent once, not re-sent within the interval, signed webhooks verify, dry runs send nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sync.config.sections import load_section
from sync.crm import load_book
from sync.errors import ConfigurationError
from sync.reports.reminders.config import RemindersConfig
from sync.reports.reminders.message import build_reminders
from sync.reports.reminders.run import run_reminders
from sync.state import open_state
from sync.state.reminder_log import SentReminders
from tests.reports.gen import ms, oid
from tests.reports.receivers import http_receiver, smtp_server

AS_OF = dt.date(2026, 12, 20)
NOW = dt.datetime(2026, 12, 20, 1, 0, tzinfo=dt.UTC)
SECRET = "whsec-9f3a7c1e5b2d4a6f8e0c"


def sent_log(folder: Path) -> SentReminders:
    """The sent log of the state store in ``folder`` (one store however often it is opened)."""
    return SentReminders(open_state(f"sqlite:///{folder / 'state.db'}"))


def book():  # type: ignore[no-untyped-def]
    a1, a2 = oid("a", 1), oid("a", 2)
    records: list[tuple[str, dict[str, Any]]] = [
        ("AccountObj", {"_id": a1, "name": "上海明远贸易有限公司"}),
        ("AccountObj", {"_id": a2, "name": "杭州西溪茶业"}),
        (
            "SalesOrderObj",
            {
                "_id": oid("0", 1),
                "name": "SO-20261001-0001",
                "account_id": a1,
                "owner__r": "张伟",
                "order_time": ms(dt.date(2026, 10, 1)),
                "order_amount": "11300.00",
            },
        ),
        (
            "SalesOrderObj",
            {
                "_id": oid("0", 2),
                "name": "SO-20261015-0002",
                "account_id": a2,
                "owner__r": "李娜",
                "order_time": ms(dt.date(2026, 10, 15)),
                "order_amount": "2260.50",
            },
        ),
        (
            "PaymentObj",
            {
                "_id": oid("b", 1),
                "name": "P-1",
                "account_id": a1,
                "order_id": oid("0", 1),
                "payment_time": ms(dt.date(2026, 11, 1)),
                "payment_amount": "1300.00",
                "payment_term": "1",
            },
        ),
        # not yet due: ordered 2026-12-01, due 2026-12-31
        (
            "SalesOrderObj",
            {
                "_id": oid("0", 3),
                "name": "SO-20261201-0003",
                "account_id": a2,
                "order_time": ms(dt.date(2026, 12, 1)),
                "order_amount": "999.00",
            },
        ),
    ]
    return load_book(records)


def config(**channel: Any) -> RemindersConfig:
    return RemindersConfig.model_validate({"interval_hours": 24, "channels": [channel]})


def test_overdue_reminders_per_customer() -> None:
    reminders = build_reminders(book(), AS_OF)
    assert [(r.account_name, str(r.total)) for r in reminders] == [
        ("上海明远贸易有限公司", "10000.00"),
        ("杭州西溪茶业", "2260.50"),
    ]
    assert reminders[0].items[0].overdue_days == 50


def test_a_customer_whose_advance_covers_the_overdue_orders_is_not_chased() -> None:
    b = book()
    from sync.crm import Payment

    b.payments["adv"] = Payment(
        "adv", "P-ADV", oid("a", 2), "杭州西溪茶业", "李娜", dt.date(2026, 12, 1), Decimal("2260.50"), "1"
    )
    assert [r.account_name for r in build_reminders(b, AS_OF)] == ["上海明远贸易有限公司"]


def test_a_customer_with_unapplied_cash_is_chased_for_what_remains_and_told_why(tmp_path: Path) -> None:
    from sync.crm import Payment

    b = book()
    b.payments["adv"] = Payment(
        "adv",
        "P-ADV",
        oid("a", 1),
        "上海明远贸易有限公司",
        "张伟",
        dt.date(2026, 11, 20),
        Decimal("4999.40"),
        "1",
    )
    (reminder, _) = build_reminders(b, AS_OF)
    assert (reminder.total, reminder.unapplied, reminder.due) == (
        Decimal("10000.00"),
        Decimal("4999.40"),
        Decimal("5000.60"),
    )
    assert reminder.payload()["due"] == "5000.60" and reminder.payload()["unapplied"] == "4999.40"
    with smtp_server() as (box, port):
        cfg = config(
            type="email", name="m", host="127.0.0.1", port=port, security="none",
            sender="ar@example.cn", to=["sales@example.cn"], language="zh",
        )  # fmt: skip
        run_reminders([reminder], cfg, sent_log(tmp_path), now=NOW)
        mail = box.messages[0]
        assert "5,000.60" in mail["Subject"] and "10,000.00" not in mail["Subject"]
        text = mail.get_body(("plain",)).get_content()
        assert "未核销回款 4,999.40 元" in text and "抵扣后仍需回款 5,000.60 元" in text
        assert "4,999.40" in mail.get_body(("html",)).get_content()


def test_a_customer_without_unapplied_cash_keeps_its_reminder_identity() -> None:
    (first, _) = build_reminders(book(), AS_OF)
    assert first.unapplied == 0 and first.due == first.total
    assert (
        first.fingerprint == hashlib.sha256(f"{oid('0', 1)}=10000.00".encode()).hexdigest()[:16]
    )  # as before unapplied cash was counted: no reminder is sent again on upgrade


def test_email_is_sent_once_and_not_again_within_the_interval(tmp_path: Path) -> None:
    log = sent_log(tmp_path)
    with smtp_server() as (box, port):
        cfg = config(
            type="email",
            name="ar-mail",
            host="127.0.0.1",
            port=port,
            security="none",
            sender="财务部 <ar@example.cn>",
            to=["sales@example.cn"],
            language="zh",
        )
        first = run_reminders(build_reminders(book(), AS_OF), cfg, log, now=NOW)
        assert [o.status for o in first] == ["sent", "sent"]
        assert len(box.messages) == 2
        mail = box.messages[0]
        assert "上海明远贸易有限公司" in mail["Subject"] and "10,000.00" in mail["Subject"]
        text = mail.get_body(("plain",)).get_content()
        assert "SO-20261001-0001" in text and "逾期 50 天" in text
        html = mail.get_body(("html",)).get_content()
        assert "<table" in html and "SO-20261001-0001" in html and "10,000.00" in html
        assert box.recipients[0] == ["sales@example.cn"]
        again = run_reminders(build_reminders(book(), AS_OF), cfg, log, now=NOW + dt.timedelta(hours=23))
        assert [o.status for o in again] == ["skipped", "skipped"]
        assert len(box.messages) == 2
        later = run_reminders(build_reminders(book(), AS_OF), cfg, log, now=NOW + dt.timedelta(hours=25))
        assert [o.status for o in later] == ["sent", "sent"]
        assert len(box.messages) == 4


def test_english_template(tmp_path: Path) -> None:
    with smtp_server() as (box, port):
        cfg = config(
            type="email",
            name="en",
            host="127.0.0.1",
            port=port,
            security="none",
            sender="ar@example.cn",
            to=["auditor@example.com"],
            language="en",
        )
        run_reminders(build_reminders(book(), AS_OF)[:1], cfg, sent_log(tmp_path), now=NOW)
        assert box.messages[0]["Subject"].startswith("[Overdue] 上海明远贸易有限公司 owes 10,000.00 CNY")


def test_a_part_payment_makes_a_new_reminder_within_the_interval(tmp_path: Path) -> None:
    log = sent_log(tmp_path)
    with http_receiver() as (hook, url):
        cfg = config(type="webhook", name="hook", url=url + "/hook")
        run_reminders(build_reminders(book(), AS_OF), cfg, log, now=NOW)
        b = book()
        from sync.crm import Payment

        b.payments["extra"] = Payment(
            "extra",
            "P-2",
            oid("a", 1),
            "上海明远贸易有限公司",
            "张伟",
            dt.date(2026, 12, 19),
            Decimal("100.00"),
            "1",
            order_id=oid("0", 1),
        )
        outcome = run_reminders(build_reminders(b, AS_OF), cfg, log, now=NOW + dt.timedelta(hours=1))
        assert [o.status for o in outcome] == ["sent", "skipped"]
        assert len(hook.requests) == 3


def test_signed_webhook_verifies(tmp_path: Path) -> None:
    with http_receiver() as (hook, url):
        cfg = config(type="webhook", name="signed", url=url + "/in", secret=SECRET)
        run_reminders(build_reminders(book(), AS_OF), cfg, sent_log(tmp_path), now=NOW)
        _path, headers, body = hook.requests[0]
        stamp = headers["x-crmsync-timestamp"]
        expected = (
            "sha256=" + hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        )
        assert hmac.compare_digest(headers["x-crmsync-signature"], expected)
        data = json.loads(body)
        assert data["event"] == "crmsync.overdue_reminder"
        assert data["total"] == "10000.00" and data["items"][0]["open"] == "10000.00"
        tampered = body.replace(b"10000.00", b"1.00")
        forged = (
            "sha256=" + hmac.new(SECRET.encode(), f"{stamp}.".encode() + tampered, hashlib.sha256).hexdigest()
        )
        assert forged != headers["x-crmsync-signature"]


def test_dingtalk_style_signs_the_url_and_checks_errcode(tmp_path: Path) -> None:
    with http_receiver() as (hook, url):
        cfg = config(
            type="webhook",
            name="ding",
            url=url + "/robot/send?access_token=abcdef123456",
            style="dingtalk",
            secret=SECRET,
        )
        hook.answer = {"errcode": 310000, "errmsg": "sign not match"}
        outcome = run_reminders(build_reminders(book(), AS_OF)[:1], cfg, sent_log(tmp_path), now=NOW)
        assert outcome[0].status == "failed" and "robot refused" in outcome[0].detail
        assert "abcdef123456" not in outcome[0].detail
        path = hook.requests[0][0]
        assert "&timestamp=" in path and "&sign=" in path
        assert json.loads(hook.requests[0][2])["msgtype"] == "text"
        # a failed send is not logged: the next run tries again
        hook.answer = {"errcode": 0, "errmsg": "ok"}
        again = run_reminders(build_reminders(book(), AS_OF)[:1], cfg, sent_log(tmp_path), now=NOW)
        assert again[0].status == "sent"


def test_dry_run_sends_and_logs_nothing(tmp_path: Path) -> None:
    log = sent_log(tmp_path)
    with smtp_server() as (box, port), http_receiver() as (hook, url):
        cfg = RemindersConfig.model_validate(
            {
                "channels": [
                    {
                        "type": "email",
                        "name": "m",
                        "host": "127.0.0.1",
                        "port": port,
                        "security": "none",
                        "sender": "ar@example.cn",
                        "to": ["x@example.cn"],
                    },
                    {"type": "webhook", "name": "w", "url": url, "secret": SECRET},
                ]
            }
        )
        outcome = run_reminders(build_reminders(book(), AS_OF), cfg, log, dry_run=True, now=NOW)
        assert {o.status for o in outcome} == {"dry-run"} and len(outcome) == 4
        assert "SO-20261001-0001" in outcome[0].body
        assert box.messages == [] and hook.requests == []
        assert log.last_sent("m", outcome[0].reminder.id) is None


def test_unreachable_smtp_is_a_failure_not_a_crash(tmp_path: Path) -> None:
    from tests.reports.receivers import _free_port

    cfg = config(
        type="email",
        name="m",
        host="127.0.0.1",
        port=_free_port(),
        security="none",
        sender="ar@example.cn",
        to=["x@example.cn"],
        timeout_seconds=2,
    )
    outcome = run_reminders(build_reminders(book(), AS_OF), cfg, sent_log(tmp_path), now=NOW)
    assert {o.status for o in outcome} == {"failed"}


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "reminders:\n  channels:\n    - type: email\n      name: m\n      host: h\n"
        "      sender: a@b.cn\n      to: [x@y.cn]\n      pasword: x\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError) as err:
        load_section(
            RemindersConfig,
            {
                "channels": [
                    {
                        "type": "email",
                        "name": "m",
                        "host": "h",
                        "sender": "a@b.cn",
                        "to": ["x@y.cn"],
                        "pasword": "x",
                    }
                ]
            },
            "reminders",
            path,
            tags=("email", "webhook"),
        )
    assert "config.yaml:8:7: unknown key 'pasword'" in str(err.value)
    assert "did you mean 'password'?" in str(err.value)


LADDER = [
    {"name": "first", "min_overdue_days": 1},
    {"name": "second", "min_overdue_days": 30, "label_zh": "第二次催款", "label_en": "Second reminder"},
    {
        "name": "final",
        "min_overdue_days": 60,
        "label_zh": "最后通知",
        "subject": "【最后通知】{{ customer }} 请于七日内付清 {{ due }} 元",
    },
]


def test_each_customer_gets_the_level_its_oldest_overdue_order_reached() -> None:
    levels = RemindersConfig.model_validate({"levels": LADDER}).levels
    on = {r.account_name: r.level.name for r in build_reminders(book(), AS_OF, levels=levels) if r.level}
    assert on == {"上海明远贸易有限公司": "second", "杭州西溪茶业": "second"}  # 50 and 36 days overdue
    later = build_reminders(book(), AS_OF + dt.timedelta(days=20), levels=levels)
    assert {r.account_name: r.level.name for r in later if r.level} == {
        "上海明远贸易有限公司": "final",  # 70 days
        "杭州西溪茶业": "second",  # 56 days
    }


def test_a_customer_moving_up_the_ladder_is_reminded_again_in_that_levels_words(tmp_path: Path) -> None:
    with smtp_server() as (box, port):
        cfg = RemindersConfig.model_validate(
            {
                "interval_hours": 24 * 30,
                "levels": LADDER,
                "channels": [
                    {"type": "email", "name": "m", "host": "127.0.0.1", "port": port, "security": "none",
                     "sender": "ar@example.cn", "to": ["sales@example.cn"]},
                ],
            }
        )  # fmt: skip
        log = sent_log(tmp_path)
        run_reminders(build_reminders(book(), AS_OF, levels=cfg.levels)[:1], cfg, log, now=NOW)
        assert box.messages[0]["Subject"].startswith("【第二次催款】上海明远贸易有限公司")
        again = run_reminders(build_reminders(book(), AS_OF, levels=cfg.levels)[:1], cfg, log, now=NOW)
        assert [o.status for o in again] == ["skipped"]  # same level, same orders: within the interval
        final = build_reminders(book(), AS_OF + dt.timedelta(days=20), levels=cfg.levels)[:1]
        moved = run_reminders(final, cfg, log, now=NOW + dt.timedelta(days=1))
        assert [o.status for o in moved] == ["sent"]
        assert box.messages[1]["Subject"] == "【最后通知】上海明远贸易有限公司 请于七日内付清 10,000.00 元"


def test_levels_must_climb() -> None:
    with pytest.raises(ValueError, match="levels must climb"):
        RemindersConfig.model_validate({"levels": [LADDER[1], LADDER[0]]})


def test_the_sales_owner_is_copied_and_one_without_an_address_is_named(tmp_path: Path) -> None:
    with smtp_server() as (box, port):
        cfg = RemindersConfig.model_validate(
            {
                "owner_emails": {"张伟": "zhangwei@example.cn"},
                "channels": [
                    {"type": "email", "name": "m", "host": "127.0.0.1", "port": port, "security": "none",
                     "sender": "ar@example.cn", "to": ["ar-lead@example.cn"], "cc_owner": True},
                ],
            }
        )  # fmt: skip
        outcomes = run_reminders(build_reminders(book(), AS_OF), cfg, sent_log(tmp_path), now=NOW)
        by_customer = {o.reminder.account_name: o for o in outcomes}
        assert box.recipients[0] == ["ar-lead@example.cn", "zhangwei@example.cn"]  # 上海明远: 张伟's order
        assert box.messages[0]["Cc"] == "zhangwei@example.cn"
        assert box.recipients[1] == ["ar-lead@example.cn"]
        assert "no address for sales owner 李娜" in by_customer["杭州西溪茶业"].detail
