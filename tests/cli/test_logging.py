"""Log lines of a run: an exception a library logs is one line, its traceback only with -v.

Found by the torture suite (tests/torture/): a malformed Fxiaoke page made the airbyte CDK
log ``logger.exception(...)`` and a full Python traceback landed in the sync's log.
"""

from __future__ import annotations

import logging

import pytest

from sync.cli.common import setup_logging


def _log_a_library_exception() -> None:
    try:
        raise ValueError("fxiaoke returned a malformed page (stream PaymentObj, offset 200)")
    except ValueError:
        logging.getLogger("crmsync.source.crm").exception("Encountered an exception while reading stream")


@pytest.fixture(autouse=True)
def _restore_root_logger() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)


def test_without_debug_an_exception_is_one_line_and_no_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRMSYNC_DEBUG", raising=False)
    setup_logging(verbose=False)
    _log_a_library_exception()
    err = capsys.readouterr().err
    assert "Traceback" not in err and 'File "' not in err
    assert "Encountered an exception while reading stream" in err
    assert "ValueError: fxiaoke returned a malformed page (stream PaymentObj, offset 200)" in err


def test_with_verbose_the_traceback_is_kept_for_the_developer(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(verbose=True)
    _log_a_library_exception()
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "_log_a_library_exception" in err
