"""A private PostgreSQL server for the torture suite, which it kills with SIGKILL and restarts.

The machine's shared server on 5432 serves everybody's tests, so it is never touched: this one
lives in its own temporary directory on a free loopback port, is owned by the ``postgres`` OS
user (PostgreSQL refuses to run as root) and is gone when the suite ends. ``kill9`` freezes
the postmaster, SIGKILLs every process it forked and then the postmaster itself (backends are
their own process group leaders, so a process-group kill would miss them): a crash, not a
shutdown. ``start`` after that runs PostgreSQL's crash recovery from the WAL.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PrivatePostgres", "find_binaries"]


def find_binaries() -> tuple[Path, str]:
    """(bin folder, '') or (Path(), why the server cannot be run here)."""
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    usable = [Path(f) for f in folders if (Path(f) / "initdb").exists() and (Path(f) / "postgres").exists()]
    if not usable:
        return Path(), "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb, postgres)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return Path(), "running as root and there is no 'postgres' OS user to run the server as"
    return usable[-1], ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces: the fields after ")" are fixed
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    """Running (a zombie has already released its memory)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class PrivatePostgres:
    """initdb once, then start / kill9 / start … ; ``url`` is stable across restarts."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="crmsync-torture-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.starts = 0
        as_root = os.geteuid() == 0
        self._user: str | None = "postgres" if as_root else None  # PostgreSQL refuses to run as root
        if as_root:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            [
                str(bindir / "initdb"),
                *("-D", str(self.data), "-A", "trust", "-U", "postgres"),
                *("-E", "UTF8", "--no-sync", "--locale=C"),
            ],
            check=True,
            capture_output=True,
            timeout=300,
            user=self._user,
            group=self._user,
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, timeout: float = 120) -> None:
        """Start the server (crash recovery included) and wait until it accepts connections."""
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(self.bindir / "postgres"),
                    *("-D", str(self.data), "-p", str(self.port)),
                    *("-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="),
                    *("-c", "fsync=off", "-c", "max_connections=60", "-c", "shared_buffers=16MB"),
                ],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                user=self._user,
                group=self._user,
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"private PostgreSQL exited: {self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"private PostgreSQL not ready in {timeout}s")
            time.sleep(0.1)

    def ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def kill9(self) -> None:
        """A crash: every server process dies by SIGKILL at once, nothing is flushed or closed."""
        if self.proc is None or self.proc.poll() is not None:
            return
        pid = self.proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)  # no new backends while we collect them
        children = _children(pid)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.kills += 1
        deadline = time.monotonic() + 30  # a dead backend must have let go of the shared memory
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
