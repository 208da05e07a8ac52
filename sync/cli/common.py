"""What every command shares: the -c option, logging set-up, and error-to-exit-code mapping."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import click

from sync.errors import CrmsyncError
from sync.secrets import RedactingFilter, redact

__all__ = ["config_option", "format_option", "run_command", "setup_logging"]

P = ParamSpec("P")
R = TypeVar("R")

config_option = click.option(
    "-c",
    "--config",
    "config_path",
    default="config.yaml",
    show_default=True,
    envvar="CRMSYNC_CONFIG",
    type=click.Path(dir_okay=False),
    help="Path to config.yaml.",
)


def format_option(*choices: str, default: str | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=default or choices[0],
        show_default=True,
        help="Output format.",
    )


class _OneLineErrors(logging.Formatter):
    """Without debug logging an exception logged by a library (the CDK's ``logger.exception``)
    shows as its last line, ``Type: message`` (scrubbed): no traceback reaches a user's log.

    The redacting filter runs first and may already have put the scrubbed traceback in
    ``exc_text``; this formatter replaces it for the one line while it formats the record.
    """

    def format(self, record: logging.LogRecord) -> str:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            return super().format(record)
        saved, stack = record.exc_text, record.stack_info
        record.exc_text, record.stack_info = redact(f"  {type(exc).__name__}: {exc}".rstrip()), None
        try:
            return super().format(record)
        finally:
            record.exc_text, record.stack_info = saved, stack


def setup_logging(verbose: bool = False) -> None:
    level = logging.DEBUG if verbose or os.environ.get("CRMSYNC_DEBUG") else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt) if level == logging.DEBUG else _OneLineErrors(fmt))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("urllib3", "airbyte", "airbyte_cdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING if level > logging.DEBUG else logging.DEBUG)


def run_command(func: Callable[P, R]) -> Callable[P, R]:
    """Turn CrmsyncErrors into their message and exit code; no traceback reaches the user.

    Under ``--format json`` the error is also printed on stdout as one JSON object (a script
    that parses stdout sees why there is no result); a closed pipe (``crmsync status | head``)
    ends the command quietly, as other Unix tools do.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        as_json = kwargs.get("fmt") == "json"
        try:
            return func(*args, **kwargs)
        except CrmsyncError as exc:
            click.echo(redact(f"error: {exc.render()}"), err=True)
            if as_json:
                _echo_error_json(type(exc).__name__, exc.message, exc.hint, exc.exit_code)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            _quiet_stdout()
            sys.exit(141)  # 128 + SIGPIPE, what a shell reports for a tool cut off by `head`
        except Exception as exc:  # a bug: one scrubbed line (the traceback only with CRMSYNC_DEBUG)
            if os.environ.get("CRMSYNC_DEBUG"):
                import traceback

                click.echo(redact(traceback.format_exc()), err=True)
            click.echo(redact(f"internal error: {type(exc).__name__}: {exc}"), err=True)
            click.echo("this is a bug in crmsync; CRMSYNC_DEBUG=1 shows the traceback for a report", err=True)
            if as_json:
                _echo_error_json("InternalError", f"{type(exc).__name__}: {exc}", "", 1)
            sys.exit(1)

    return wrapper


def _echo_error_json(kind: str, message: str, hint: str, exit_code: int) -> None:
    try:
        echo_json({"error": {"type": kind, "message": message, "hint": hint, "exit_code": exit_code}})
    except BrokenPipeError:
        _quiet_stdout()


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so Python's own flush at exit does not complain again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def echo_json(data: Any) -> None:
    import json

    click.echo(redact(json.dumps(data, ensure_ascii=False, default=str)))
