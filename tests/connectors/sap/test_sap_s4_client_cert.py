"""S/4HANA with an X.509 client certificate instead of Basic auth (TLS on loopback)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from connectors.sap.s4.factory import Config, build
from sync.connector import BuildContext
from sync.destination import Outcome
from sync.errors import ConfigurationError, DestinationUnavailable
from tests.connectors.sap.conftest import ACCOUNT_MAP, order_voucher
from tests.fakes.sap_s4 import FakeS4

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and the communication user's client certificate."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Test SAP CA",
        cwd=d,
    )
    for name, subject in (("server", "/CN=127.0.0.1"), ("client", "/CN=COMM_CRMSYNC")):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=d)
        (d / f"{name}.ext").write_text(
            "subjectAltName=IP:127.0.0.1\n" if name == "server" else "extendedKeyUsage=clientAuth\n",
            encoding="utf-8",
        )
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
            cwd=d,
        )
    return d


def server_context(pki: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "server.pem", pki / "server.key")
    ctx.load_verify_locations(pki / "ca.pem")
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def config(fake: FakeS4, **auth: str) -> Config:
    return Config.model_validate(
        {
            "base_url": fake.url,
            "company_code": "1010",
            "created_by_user": "CC0000000001",
            "account_map": ACCOUNT_MAP,
            "timeout_seconds": 5,
            **auth,
        }
    )


def test_client_certificate_authenticates_and_posts(pki: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki / "ca.pem"))
    with FakeS4(tls=server_context(pki)) as fake:
        dest = build(
            config(fake, client_cert=str(pki / "client.pem"), client_key=str(pki / "client.key")),
            BuildContext("erp", pki),
        )
        (result,) = dest.post([order_voucher()])
        found = dest.lookup([order_voucher().external_ref])
    assert result.outcome is Outcome.POSTED
    assert list(found) == [order_voucher().external_ref]


def test_without_the_certificate_the_tls_handshake_fails(pki: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki / "ca.pem"))
    with FakeS4(tls=server_context(pki)) as fake:
        dest = build(
            config(fake, username="COMM_CRMSYNC", password="S4-secret-Passw0rd!"), BuildContext("erp", pki)
        )
        with pytest.raises(DestinationUnavailable):
            dest.check([order_voucher()])
        with pytest.raises(DestinationUnavailable, match="cannot reach"):  # a failed handshake sent nothing
            dest.post([order_voucher()])
        assert fake.documents == []


def test_a_missing_certificate_file_is_a_configuration_error(tmp_path: Path) -> None:
    cfg = Config(
        base_url="https://my000000-api.s4hana.cloud.sap",
        company_code="1010",
        created_by_user="CC0000000001",
        client_cert="certs/crmsync.pem",
    )
    with pytest.raises(ConfigurationError, match=r"certs/crmsync\.pem does not exist"):
        build(cfg, BuildContext("erp", tmp_path))
