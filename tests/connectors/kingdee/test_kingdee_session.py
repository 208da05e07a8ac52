"""Both auth modes against the fake: login, cookies kept, re-login and one replay on a lost session."""

from __future__ import annotations

import pytest

from sync.destination import Outcome
from sync.errors import DestinationUnavailable
from tests.connectors.kingdee.conftest import ACCOUNTS, CUSTOMERS, destination_for, order_voucher
from tests.fakes.kingdee import FakeKingdee


def test_login_mode_logs_in_once_and_reuses_the_session_cookie(fake: FakeKingdee) -> None:
    destination = destination_for(fake, auth="login")
    destination.post([order_voucher(1)])
    destination.post([order_voucher(2)])
    assert fake.calls["LoginBySign"] == 1
    _, headers, _ = fake.requests[-1]
    assert "kdservice-sessionid=" in headers["cookie"] and "ASP.NET_SessionId=" in headers["cookie"]
    assert headers["kdservice-sessionid"]


def test_login_mode_logs_in_again_after_the_session_expired_and_saves_once(fake: FakeKingdee) -> None:
    destination = destination_for(fake, auth="login")
    destination.post([order_voucher(1)])
    fake.expire_sessions()
    [result] = destination.post([order_voucher(2)])
    assert result.outcome is Outcome.POSTED
    assert fake.calls["LoginBySign"] == 2
    assert fake.count_by_ref(order_voucher(2).external_ref) == 1


def test_signature_mode_sends_no_login_and_drops_a_dead_session_cookie(fake: FakeKingdee) -> None:
    destination = destination_for(fake, auth="signature")
    destination.post([order_voucher(1)])
    fake.expire_sessions()
    [result] = destination.post([order_voucher(2)])
    assert result.outcome is Outcome.POSTED
    assert not any(name.startswith("Login") for name in fake.calls)
    assert fake.count_by_ref(order_voucher(2).external_ref) == 1


def test_an_old_site_without_login_by_sign_falls_back_to_login_by_app_secret() -> None:
    with FakeKingdee(accounts=ACCOUNTS, customers=CUSTOMERS, login_methods=("LoginByAppSecret",)) as fake:
        [result] = destination_for(fake, auth="login").post([order_voucher()])
        assert result.outcome is Outcome.POSTED
        assert fake.calls["LoginByAppSecret"] == 1


def test_without_an_app_id_the_secret_is_the_password_for_validate_user(fake: FakeKingdee) -> None:
    [result] = destination_for(fake, auth="login", app_id="", app_secret=fake.password).post(
        [order_voucher()]
    )
    assert result.outcome is Outcome.POSTED
    assert fake.calls["ValidateUser"] == 1


def test_a_wrong_app_secret_in_login_mode_is_destination_unavailable(fake: FakeKingdee) -> None:
    destination = destination_for(fake, auth="login", app_secret="fedcba9876543210fedcba9876543210")
    with pytest.raises(DestinationUnavailable, match="用户名或密码错误") as info:
        destination.post([order_voucher()])
    assert "fedcba9876543210" not in str(info.value)


def test_a_wrong_app_secret_in_signature_mode_is_rejected_by_the_gateway(fake: FakeKingdee) -> None:
    destination = destination_for(fake, auth="signature", app_secret="fedcba9876543210fedcba9876543210")
    with pytest.raises(DestinationUnavailable, match="errcode 4003"):
        destination.check()
    assert fake.vouchers == []


def test_an_injected_lost_session_is_replayed_without_a_duplicate() -> None:
    with FakeKingdee(
        accounts=ACCOUNTS, customers=CUSTOMERS, fault_rate=0.5, faults=("session_lost",), seed=3
    ) as fake:
        destination = destination_for(fake, auth="login")
        vouchers = [order_voucher(i) for i in range(1, 9)]
        results = [r for v in vouchers for r in destination.post([v])]
        assert fake.injected["session_lost"] > 0
        posted = [r.external_ref for r in results if r.outcome is Outcome.POSTED]
        assert all(fake.count_by_ref(ref) == 1 for ref in posted)
        assert all(r.outcome in (Outcome.POSTED, Outcome.TRANSIENT) for r in results)


def test_an_idle_session_expires_and_the_next_call_logs_in_again() -> None:
    import time

    with FakeKingdee(accounts=ACCOUNTS, customers=CUSTOMERS, session_ttl=0.2) as fake:
        destination = destination_for(fake, auth="login")
        destination.post([order_voucher(1)])
        time.sleep(0.3)
        [result] = destination.post([order_voucher(2)])
        assert result.outcome is Outcome.POSTED
        assert fake.calls["LoginBySign"] == 2 and len(fake.vouchers) == 2
