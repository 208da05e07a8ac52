"""Plumbing every loopback fake shares: the server and its thread, JSON answers, resets, fault dice.

The fakes differ in what they answer (that is the point of each); how they bind 127.0.0.1:0,
serve on a daemon thread, stop, drop a connection with a TCP RST, roll seeded fault dice and run
as ``python -m tests.fakes.<name>`` is the same, so it lives here once.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

#: SO_LINGER on, timeout 0: close() sends RST instead of FIN (a connection reset, as seen by the client)
_LINGER_RST = b"\x01\x00\x00\x00\x00\x00\x00\x00"


class QuietServer(ThreadingHTTPServer):
    """A client killed mid-request (SIGKILL tests) is normal here, not a traceback on stderr."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve_in_thread(
    server: ThreadingHTTPServer, *, name: str | None = None, poll_interval: float = 0.5
) -> threading.Thread:
    """Start answering on a daemon thread (the test process must be able to exit without a stop);
    a short ``poll_interval`` makes ``stop_server`` return sooner."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": poll_interval}, name=name, daemon=True
    )
    thread.start()
    return thread


def stop_server(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


def send_json(
    handler: BaseHTTPRequestHandler,
    status: int,
    data: Any,
    *,
    content_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> None:
    """One JSON answer with its length (``data=None``: an empty body and no Content-Type)."""
    body = b"" if data is None else json.dumps(data, ensure_ascii=False).encode()
    handler.send_response(status)
    if data is not None:
        handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(body)


def reset_connection(handler: BaseHTTPRequestHandler) -> None:
    """Drop the connection with a TCP RST (the client sees "connection reset by peer")."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
        handler.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def roll_fault(
    rng: random.Random, rate: float, kinds: Sequence[str], fired: dict[str, int], budget: int | None = None
) -> str | None:
    """Seeded dice (call under the fake's lock): with probability ``rate`` a fault kind, counted in
    ``fired``; none once ``budget`` faults have fired."""
    budget_left = budget is None or sum(fired.values()) < budget
    if rate and budget_left and rng.random() < rate:
        kind = rng.choice(kinds)
        fired[kind] = fired.get(kind, 0) + 1
        return kind
    return None


class _ServedFake(Protocol):
    @property
    def url(self) -> str: ...

    @property
    def _server(self) -> ThreadingHTTPServer: ...


def run_fake_main(
    argv: list[str] | None,
    *,
    description: str,
    seed: int,
    make: Callable[[argparse.Namespace], _ServedFake],
) -> None:
    """``python -m tests.fakes.<name> --port 0 --fault-rate 0.2``: print the URL, serve until killed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--hang-seconds", type=float, default=3.0)
    fake = make(parser.parse_args(argv))
    print(fake.url, flush=True)
    fake._server.serve_forever()
