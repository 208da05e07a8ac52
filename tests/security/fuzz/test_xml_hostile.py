"""XXE and entity expansion against every XML parser we own: bank camt statements (through
``connectors.bank.xmlsafe``) and SAP S/4 SOAP confirmations. Each document is refused with the
parser's documented error; no file is read, no URL fetched, no entity expanded. (IDoc is
write-only: crmsync renders ACC_DOCUMENT files, it never reads one back.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from connectors.bank.camt import parse_camt
from connectors.sap.s4.soap import parse_response
from sync.banking import StatementError

CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
SOAP_OPEN = (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
    "<faultcode>soap:Server</faultcode><faultstring>"
)
SOAP_CLOSE = "</faultstring></soap:Fault></soap:Body></soap:Envelope>"
CAMT_OPEN = f'<Document xmlns="{CAMT_NS}"><BkToCstmrStmt><GrpHdr><MsgId>'
CAMT_CLOSE = "</MsgId></GrpHdr></BkToCstmrStmt></Document>"
LAUGHS_DTD = (
    '<!DOCTYPE d [<!ENTITY a "lollollollollollollollollollol">'
    + "".join(f'<!ENTITY {b} "{("&" + a + ";") * 10}">' for a, b in zip("abcdefgh", "bcdefghi", strict=True))
    + "]>"
)


class _Recorder(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = b'<!ENTITY leak "fetched">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[str]:
    _Recorder.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _documents(url: str, secret_file: Path) -> dict[str, tuple[str, str]]:
    """name -> DTD prefix and the entity reference placed inside the document."""
    return {
        "billion laughs": (LAUGHS_DTD, "&i;"),
        "quadratic blowup": (f'<!DOCTYPE d [<!ENTITY x "{"A" * 50_000}">]>', "&x;" * 2000),
        "xxe file": (f'<!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret_file}">]>', "&x;"),
        "xxe url": (f'<!DOCTYPE d [<!ENTITY x SYSTEM "{url}/entity">]>', "&x;"),
        "parameter entity": (f'<!DOCTYPE d [<!ENTITY % p SYSTEM "{url}/param.dtd"> %p;]>', "&leak;"),
        "external dtd": (f'<!DOCTYPE d SYSTEM "{url}/external.dtd">', "x"),
    }


PARSERS: dict[str, tuple[str, str, Callable[[bytes], object], type[Exception]]] = {
    "camt": (CAMT_OPEN, CAMT_CLOSE, lambda b: parse_camt(b, "hostile.xml"), StatementError),
    "sap_s4_soap": (SOAP_OPEN, SOAP_CLOSE, parse_response, ValueError),
}


@pytest.mark.parametrize("parser", sorted(PARSERS))
@pytest.mark.parametrize(
    "attack",
    ["billion laughs", "quadratic blowup", "xxe file", "xxe url", "parameter entity", "external dtd"],
)
def test_hostile_xml_is_refused_without_expanding_or_fetching(
    parser: str, attack: str, listener: str, tmp_path: Path
) -> None:
    secret_file = tmp_path / "passwd"
    secret_file.write_text("root:x:0:0:秘密", encoding="utf-8")
    dtd, ref = _documents(listener, secret_file)[attack]
    head, tail, parse, error = PARSERS[parser]
    document = f'<?xml version="1.0" encoding="UTF-8"?>{dtd}{head}{ref}{tail}'.encode()
    started = time.monotonic()
    with pytest.raises(error) as caught:
        parse(document)
    assert time.monotonic() - started < 2
    assert "DTD" in str(caught.value) and "秘密" not in str(caught.value)
    assert _Recorder.hits == []
