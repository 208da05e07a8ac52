"""A loopback server that answers Kingdee calls from a script (canned status, body, delay).

The classification tests need exact answer shapes the fake only produces by chance; this
server plays them back in order per operation, and answers ExecuteBillQuery with ``[]``
(nothing found) unless scripted otherwise.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    delay: float = 0.0
    raw: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()


class Script:
    def __init__(self) -> None:
        self.answers: dict[str, deque[Answer]] = defaultdict(deque)
        self.seen: list[tuple[str, Any]] = []

    def add(self, operation: str, *answers: Answer) -> None:
        self.answers[operation].extend(answers)

    def next(self, operation: str) -> Answer:
        queue = self.answers[operation]
        if queue:
            return queue.popleft()
        if operation == "ExecuteBillQuery":
            return Answer(body=[])
        if operation.startswith("Login"):
            return Answer(
                body={"LoginResultType": 1, "KDSVCSessionId": "2c6dfa6c-039b-4b65-b52f-898d3c7c522a"}
            )
        raise AssertionError(f"unscripted call to {operation}")


@contextmanager
def scripted_server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            operation = self.path.split(".common.kdsvc")[0].rsplit(".", 1)[-1]
            script.seen.append((operation, body))
            answer = script.next(operation)
            if answer.delay:
                time.sleep(answer.delay)
            payload = (
                answer.raw if answer.raw is not None else json.dumps(answer.body, ensure_ascii=False).encode()
            )
            try:
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/k3cloud/", script
    finally:
        server.shutdown()
        server.server_close()


def status(
    ok: bool,
    msg_code: int = 0,
    errors: list[tuple[str | None, str, int]] | None = None,
    successes: list[tuple[int, str, int]] | None = None,
    is_success_text: bool = False,
) -> dict[str, Any]:
    """A ``{"Result": {"ResponseStatus": …}}`` envelope as Kingdee writes it."""
    rs: dict[str, Any] = {
        "IsSuccess": ("true" if ok else "false") if is_success_text else ok,
        "Errors": [{"FieldName": f, "Message": m, "DIndex": i} for f, m, i in errors or []],
        "SuccessEntitys": [{"Id": i, "Number": n, "DIndex": d} for i, n, d in successes or []],
        "SuccessMessages": [],
        "MsgCode": msg_code,
    }
    if not ok:
        rs = {"ErrorCode": 500, **rs}
    return {"Result": {"ResponseStatus": rs}}
