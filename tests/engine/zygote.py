"""A fork server for crash tests: import crmsync once, then fork real ``crmsync`` processes.

Importing airbyte_cdk costs seconds on a busy machine; thirty-odd killed runs would spend
minutes just starting Python. This server pays that once and forks a child per run. Each
child is a real, separate OS process running the real command line (``sync.cli.main``) with
its own database connections; the test SIGKILLs it like any process.

Protocol on stdin/stdout, one JSON object per line:
  -> {"args": [...], "env": {...}, "out": "path", "err": "path"}
  <- {"pid": 1234}                       the child runs
  -> {"wait": 1234}
  <- {"pid": 1234, "status": 0 | -9 | ...}   when it ended (negative: killed by that signal)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _child(job: dict[str, Any]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ.update(job.get("env", {}))
    for fd, path in ((1, job["out"]), (2, job["err"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    code = 0
    try:
        from sync.cli import main

        main(job["args"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 99
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def serve(preload: list[str] | None = None) -> None:
    # everything a run imports, once (plus the modules the caller names, e.g. its connectors)
    import importlib

    import airbyte_cdk.models  # noqa: F401

    import connectors.files.source
    import connectors.ledger.factory  # noqa: F401
    import sync.cli.ops_cmd
    import sync.cli.sync_cmd
    import sync.engine.build
    import sync.mapping  # noqa: F401
    from tests.fakes import faulty_destination

    faulty_destination.register()
    for module in preload or []:
        importlib.import_module(module)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        if "wait" not in job:
            pid = os.fork()
            if pid == 0:
                _child(job)
            print(json.dumps({"pid": pid}), flush=True)
            continue
        pid = int(job["wait"])
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        print(json.dumps({"pid": pid, "status": code}), flush=True)


class Zygote:
    """The test side: start the server, run jobs one at a time or two at once."""

    def __init__(self, tmp: Path, preload: tuple[str, ...] = ()) -> None:
        """``preload``: more modules to import before forking (a child then starts warm)."""
        self.tmp = tmp
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.engine.zygote", *preload],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert json.loads(self._read()) == {"ready": True}
        self.n = 0

    def _read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("zygote died")
        return line

    def start(self, args: list[str], env: dict[str, str] | None = None) -> tuple[int, Path, Path]:
        self.n += 1
        out, err = self.tmp / f"run{self.n}.out", self.tmp / f"run{self.n}.err"
        assert self.proc.stdin is not None
        # the zygote started before the test set its state key (PostgreSQL): pass it on
        env = {**{k: os.environ[k] for k in ("CRMSYNC_STATE_KEY",) if k in os.environ}, **(env or {})}
        self.proc.stdin.write(json.dumps({"args": args, "env": env, "out": str(out), "err": str(err)}) + "\n")
        self.proc.stdin.flush()
        return int(json.loads(self._read())["pid"]), out, err

    def wait(self, pid: int) -> int:
        """The child's exit code, or minus the signal that killed it."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"wait": pid}) + "\n")
        self.proc.stdin.flush()
        return int(json.loads(self._read())["status"])

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


if __name__ == "__main__":
    serve(sys.argv[1:])
