"""Transport rules, per connector family: every HTTP client's session verifies TLS by default
(or trusts the configured CA bundle), honours proxy variables, and puts a timeout on every
request. Sessions are taken from what each connector's factory builds from a config section,
and the rules are then shown to hold on the wire: a self-signed server is refused unless its
CA is configured, a request without a timeout times out, a proxy variable is followed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests

from sync.connector import BuildContext
from sync.errors import TransientError
from sync.http import TransportConfig, _TimeoutAdapter, make_session

SECRET = "transportTest-0123456789abcdef"


def _ctx(tmp: Path) -> BuildContext:
    return BuildContext(name="t", base_dir=tmp, work_dir=tmp / ".crmsync")


def _fxiaoke(tmp: Path, transport: dict[str, Any] | None) -> requests.Session:
    from connectors.fxiaoke.factory import build

    section = {
        "base_url": "https://open.fxiaoke.com",
        "app_id": "FSAID_131a2b3c",
        "app_secret": SECRET,
        "permanent_code": SECRET,
        "open_user_id": "FSUID_1A2B3C",
        "start_date": "2026-01-01",
        **({"transport": transport} if transport else {}),
    }
    handle = build(section, _ctx(tmp))
    stream = handle.source.streams(handle.config)[0]
    session: requests.Session = stream._client._session
    return session


def _kingdee(tmp: Path, transport: dict[str, Any] | None) -> requests.Session:
    from connectors.kingdee.factory import build

    section = {
        "base_url": "https://erp.example.cn/k3cloud/",
        "acct_id": "65a1b2c3d4e5f6",
        "username": "webapi",
        "app_id": "224466_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "app_secret": SECRET,
        "account_book": "001",
        **({"transport": transport} if transport else {}),
    }
    session: requests.Session = build(section, _ctx(tmp)).client.http
    return session


def _sap_s4(tmp: Path, transport: dict[str, Any] | None) -> requests.Session:
    from connectors.sap.s4.factory import build

    section: dict[str, object] = {
        "base_url": "https://s4.example.cn",
        "username": "CRMSYNC_COMM",
        "password": SECRET,
        "company_code": "1010",
        "created_by_user": "CRMSYNC",
        **({"transport": transport} if transport else {}),
    }
    session: requests.Session = build(section, _ctx(tmp))._session  # type: ignore[attr-defined]
    return session


def _sap_b1(tmp: Path, transport: dict[str, Any] | None) -> requests.Session:
    from connectors.sap.b1.factory import build

    section: dict[str, object] = {
        "base_url": "https://b1.example.cn:50000/b1s/v1",
        "company_db": "SBODEMOCN",
        "username": "manager",
        "password": SECRET,
        **({"transport": transport} if transport else {}),
    }
    session: requests.Session = build(section, _ctx(tmp)).sl._session  # type: ignore[attr-defined]
    return session


def _bank(fmt: str) -> Callable[[Path, dict[str, Any] | None], requests.Session]:
    def make(tmp: Path, transport: dict[str, Any] | None) -> requests.Session:
        from connectors.bank.cmb import CmbClient
        from connectors.bank.factory import Config
        from connectors.bank.stripe import StripeClient

        extra: dict[str, Any] = (
            {
                "base_url": "https://cdc.cmbchina.com/cdcserver/api/v2",
                "userid": "N002463627",
                "secret": SECRET,
                "bbknbr": "75",
                "accounts": ["755915678910802"],
                "start_date": "2026-11-01",
            }
            if fmt == "cmb"
            else {"api_key": "sk_test_" + SECRET}
        )
        cfg = Config.model_validate({"type": fmt, **extra, **({"transport": transport} if transport else {})})
        client = CmbClient.from_config(cfg) if fmt == "cmb" else StripeClient.from_config(cfg)
        return client.session

    return make


def _writeback(tmp: Path, transport: dict[str, Any] | None) -> requests.Session:
    from sync.config.model import AppConfig
    from sync.writeback.run import fxiaoke_updater

    config = AppConfig.model_validate(
        {
            "sources": {
                "crm": {
                    "type": "fxiaoke",
                    "app_id": "FSAID_131a2b3c",
                    "app_secret": SECRET,
                    "permanent_code": SECRET,
                    "open_user_id": "FSUID_1A2B3C",
                    "start_date": "2026-01-01",
                    **({"transport": transport} if transport else {}),
                }
            },
            "destination": {"type": "ledger", "path": "ledger.db"},
            "mappings": ["m.yaml"],
        }
    )
    session: requests.Session = fxiaoke_updater(config, "crm").__self__._session  # type: ignore[attr-defined]
    return session


FAMILIES = {
    "fxiaoke": _fxiaoke,
    "kingdee": _kingdee,
    "sap_s4": _sap_s4,
    "sap_b1": _sap_b1,
    "bank_cmb": _bank("cmb"),
    "bank_stripe": _bank("stripe"),
    "writeback": _writeback,
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_session_verifies_tls_and_times_out_by_default(family: str, tmp_path: Path) -> None:
    session = FAMILIES[family](tmp_path, None)
    adapter = session.get_adapter("https://erp.example.cn/")
    assert isinstance(adapter, _TimeoutAdapter) and isinstance(
        session.get_adapter("http://x/"), _TimeoutAdapter
    )
    assert all(t > 0 for t in adapter._timeout)
    assert session.verify is True and session.trust_env is True


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_transport_section_sets_the_ca_bundle_and_timeouts(family: str, tmp_path: Path) -> None:
    bundle = tmp_path / "corp-root.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    transport = {"ca_bundle": str(bundle), "connect_timeout_seconds": 3, "read_timeout_seconds": 7}
    session = FAMILIES[family](tmp_path, transport)
    adapter = session.get_adapter("https://erp.example.cn/")
    assert isinstance(adapter, _TimeoutAdapter)
    timeout: tuple[float, float] = adapter._timeout
    verify: object = session.verify
    assert timeout == (3.0, 7.0) and verify == str(bundle) and adapter._verify == str(bundle)


# -- on the wire ---------------------------------------------------------------------------------


class _Hello(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []
    delay: ClassVar[float] = 0.0

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        time.sleep(type(self).delay)
        body = b'{"errcode": 0, "errmsg": "ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may have timed out and gone
            self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    _Hello.seen, _Hello.delay = [], 0.0
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def tls_server(tmp_path: Path, server: ThreadingHTTPServer) -> tuple[str, Path]:
    """The same server behind a self-signed certificate for 127.0.0.1: (https URL, its cert)."""
    import ssl

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return f"https://127.0.0.1:{server.server_address[1]}", cert


def test_a_self_signed_server_is_refused_unless_its_ca_is_configured(tls_server: tuple[str, Path]) -> None:
    url, cert = tls_server
    with pytest.raises(requests.exceptions.SSLError):
        make_session().get(url + "/ping")
    assert make_session(TransportConfig(ca_bundle=str(cert))).get(url + "/ping").status_code == 200


def test_the_reminder_webhook_verifies_the_server_certificate(tls_server: tuple[str, Path]) -> None:
    from sync.reports.reminders.channels import send_webhook
    from sync.reports.reminders.config import WebhookChannel
    from sync.reports.reminders.message import Reminder

    url, cert = tls_server
    reminder = Reminder("acc0001", "上海华东贸易有限公司", dt.date(2026, 11, 28), ())
    plain = WebhookChannel.model_validate({"type": "webhook", "name": "finance", "url": url + "/hook"})
    with pytest.raises(TransientError, match="SSLError"):
        send_webhook(plain, reminder)
    trusted = WebhookChannel.model_validate(
        {"type": "webhook", "name": "finance", "url": url + "/hook", "transport": {"ca_bundle": str(cert)}}
    )
    send_webhook(trusted, reminder)
    assert _Hello.seen == ["/hook"]


def test_a_request_sent_without_a_timeout_still_times_out(server: ThreadingHTTPServer) -> None:
    _Hello.delay = 2.0
    session = make_session(TransportConfig(connect_timeout_seconds=1, read_timeout_seconds=0.3))
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(f"http://127.0.0.1:{server.server_address[1]}/slow")  # no timeout= here
    assert time.monotonic() - started < 1.5


def test_the_proxy_environment_variables_are_followed(
    server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    host = "kingdee.internal.example"  # never resolved: only the proxy is contacted
    assert make_session().get(f"http://{host}/k3cloud/ping").status_code == 200
    assert _Hello.seen == [f"http://{host}/k3cloud/ping"]  # absolute URI: a proxy request


def test_a_missing_ca_bundle_is_a_configuration_error(tmp_path: Path) -> None:
    from sync.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="ca_bundle"):
        make_session(TransportConfig(ca_bundle=str(tmp_path / "missing.pem")), system="kingdee")
