"""What an operator is told when the machine, not crmsync, is the problem (issue 19).

Each case is made real: a tiny tmpfs that fills up, a read-only bind mount (both inside a
private mount namespace, ``unshare -rm``, so no root on the host is needed), a lock held by
another process, a closed pipe. Each asserts the exit code and the words that name the cause.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sync.state.diagnosis import sqlite_failure
from sync.state.sqlite import SqliteStore
from tests.e2e.support import CRMSYNC, ROOT, write_config

pytestmark = pytest.mark.slow


def _config(folder: Path, state_dir: str = ".crmsync") -> Path:
    return write_config(
        folder / "config.yaml",
        state={"url": f"sqlite:///{state_dir}/state.db", "lock_timeout_seconds": 0.5},
        sources={"crm": {"type": "files", "path": str(ROOT / "examples/crm")}},
        destination={"type": "ledger", "path": f"{state_dir}/ledger.db"},
        mappings=[str(ROOT / "mappings/fxiaoke-kingdee/*.yaml")],
    )


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )


def _crmsync(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run([*CRMSYNC, *args, "-c", str(config)], config.parent)


def _in_mount_namespace(setup: str, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run crmsync after ``setup`` (mount commands) in a private user and mount namespace."""
    command = " ".join(shlex.quote(a) for a in [*CRMSYNC, *args, "-c", str(config)])
    return _run(["unshare", "-rm", "sh", "-c", f"{setup} && exec {command}"], config.parent)


def _can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="no private mount namespace (unshare -rm)")


def _json_error(out: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    error: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])["error"]
    return error


@needs_mount
def test_a_full_disk_is_named_as_such_with_exit_2_and_json(tmp_path: Path) -> None:
    (tmp_path / "small").mkdir()
    config = _config(tmp_path, "small")
    out = _in_mount_namespace(
        f"mount -t tmpfs -o size=300k tmpfs {tmp_path / 'small'}", config, "sync", "--format", "json"
    )
    assert out.returncode == 2, out.stderr
    assert "the disk is full" in out.stderr and "df -h" in out.stderr
    assert "this is a bug" not in out.stderr
    error = _json_error(out)
    assert error["exit_code"] == 2 and "the disk is full" in error["message"]


@needs_mount
def test_a_read_only_mount_refuses_sync_but_the_reading_commands_work(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert _crmsync(config, "sync").returncode == 1  # the sample quarantines one order
    state = tmp_path / ".crmsync"
    read_only = f"mount --bind {state} {state} && mount -o remount,ro,bind {state}"

    refused = _in_mount_namespace(read_only, config, "sync")
    assert refused.returncode == 2
    assert "is on a read-only file system" in refused.stderr
    assert "corrupt" not in refused.stderr and "restore it from a backup" not in refused.stderr

    status = _in_mount_namespace(read_only, config, "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["vouchers"]["posted"] == 149
    vouchers = _in_mount_namespace(read_only, config, "vouchers", "--format", "json")
    assert vouchers.returncode == 0 and len(json.loads(vouchers.stdout)) >= 149
    verify = _in_mount_namespace(read_only, config, "audit", "verify")
    assert verify.returncode == 0 and "intact" in verify.stdout


def test_a_file_the_user_may_not_write_is_named_with_the_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state.db"
    SqliteStore(state).close()
    # root may write anything, so the refusal the kernel gives another user is played here
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != state)
    error = sqlite_failure(state, sqlite3.OperationalError("attempt to write a readonly database"))
    assert error.exit_code == 2
    assert f"permission denied, user {os.environ.get('USER') or os.geteuid()} may not write {state}" in (
        error.message
    )
    assert "ls -l" in error.hint


def test_an_os_level_disk_full_names_the_folder(tmp_path: Path) -> None:
    error = sqlite_failure(tmp_path / "state.db", OSError(errno.ENOSPC, "No space left on device"))
    assert "the disk is full" in error.message and f"df -h {tmp_path}" in error.hint


def test_a_closed_pipe_ends_a_command_quietly(tmp_path: Path) -> None:
    config = _config(tmp_path)
    _crmsync(config, "sync")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (`| head -1`) is gone before crmsync writes
    try:
        out = subprocess.run(
            [*CRMSYNC, "status", "-c", str(config)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert out.stderr == ""
    assert out.returncode == 141


def test_a_held_lock_under_format_json_prints_the_error_as_json_with_exit_4(tmp_path: Path) -> None:
    config = _config(tmp_path)
    _crmsync(config, "sync")
    holder = SqliteStore(tmp_path / ".crmsync/state.db")
    holder.acquire_lock(1)
    try:
        out = _crmsync(config, "sync", "--format", "json")
    finally:
        holder.close()
    assert out.returncode == 4
    error = _json_error(out)
    assert error["type"] == "LockHeld" and error["exit_code"] == 4
    assert f"pid {os.getpid()}" in error["message"]
