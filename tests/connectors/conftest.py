"""The CDK standard suites' image tests run only when asked for (CRMSYNC_IMAGE_TESTS=1)."""

from __future__ import annotations

import os

import pytest

from tests.connectors.standard_suite import IMAGE_BYPASS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CRMSYNC_IMAGE_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason=IMAGE_BYPASS)
    for item in items:
        if item.get_closest_marker("image_tests") is not None:
            item.add_marker(skip)
