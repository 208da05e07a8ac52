"""Secrets are scrubbed from any text and any log line once they are known."""

import logging

import pytest

from sync.secrets import RedactingFilter, redact, register_secret


def test_redact_masks_every_registered_secret() -> None:
    register_secret("FSAID-app-secret-4f1c9e")
    assert redact("token call with FSAID-app-secret-4f1c9e failed") == "token call with ******** failed"


def test_very_short_values_are_not_registered_so_messages_stay_readable() -> None:
    register_secret("abc")
    assert redact("abc is fine") == "abc is fine"


def test_the_logging_filter_scrubs_formatted_arguments(caplog: pytest.LogCaptureFixture) -> None:
    register_secret("kd-session-9e8d7c6b5a")
    logger = logging.getLogger("crmsync.test")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="crmsync.test"):
        logger.info("cookie %s refused", "kd-session-9e8d7c6b5a")
    assert "kd-session-9e8d7c6b5a" not in caplog.text
    assert "cookie ******** refused" in caplog.text
