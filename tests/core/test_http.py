"""Every HTTP request has a timeout, TLS is verified unless explicitly turned off (with a warning)."""

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sync.errors import ConfigurationError
from sync.http import TransportConfig, make_session


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts a connection and never answers: a request without a timeout would hang forever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                accepted.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_request_without_a_timeout_still_times_out(silent_server: str) -> None:
    session = make_session(TransportConfig(read_timeout_seconds=0.3))
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        session.get(silent_server)
    assert time.monotonic() - started < 5


def test_tls_verification_is_on_by_default() -> None:
    assert make_session().verify is True


def test_turning_verification_off_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        session = make_session(TransportConfig(verify_tls=False), system="kingdee")
    assert session.verify is False
    assert "kingdee: TLS certificate verification is OFF" in caplog.text


def test_a_missing_ca_bundle_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="ca_bundle"):
        make_session(TransportConfig(ca_bundle=str(tmp_path / "missing.pem")))


def test_proxies_come_from_the_environment() -> None:
    assert make_session().trust_env is True
