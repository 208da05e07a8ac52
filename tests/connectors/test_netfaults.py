"""Connection failures named as what they are (issue 19): a real TLS server with a self-signed
certificate on loopback, a port nothing listens on, a host name that cannot resolve."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sync.netfaults import describe, never_sent


@pytest.fixture
def self_signed_server(tmp_path: Path) -> Iterator[str]:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                context.wrap_socket(conn, server_side=True).close()
            except (ssl.SSLError, OSError):
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"https://localhost:{port}/k3cloud/"
    listener.close()


def _failure(url: str) -> requests.RequestException:
    with pytest.raises(requests.RequestException) as raised:
        requests.get(url, timeout=5)
    return raised.value


def test_a_self_signed_certificate_is_named_with_the_ca_bundle_fix(self_signed_server: str) -> None:
    exc = _failure(self_signed_server)
    what, fix = describe(exc, self_signed_server)
    assert never_sent(exc)
    assert "self-signed" in what and "localhost" in what
    assert "transport.ca_bundle" in fix


def test_a_closed_port_is_named_connection_refused() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    exc = _failure(url)
    assert never_sent(exc)
    assert "connection refused" in describe(exc, url)[0]


def test_a_host_that_does_not_resolve_is_named_dns() -> None:
    url = "https://kingdee.invalid/k3cloud/"
    exc = _failure(url)
    assert never_sent(exc)
    assert "does not resolve (DNS)" in describe(exc, url)[0]
