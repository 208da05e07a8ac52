"""The CDK's standard source tests against the Fxiaoke source and fake, from its integration_tests/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from airbyte_cdk.test.standard_tests import SourceTestSuiteBase

from connectors.fxiaoke.source import SourceFxiaoke
from tests.connectors.standard_suite import CrmsyncConnectorSuite
from tests.fakes.fxiaoke import FakeFxiaoke

#: bound now, so the scenarios collected below know its address; served only while tests run
FAKE = FakeFxiaoke(records=6, rate_limit=None)


@pytest.fixture(scope="module", autouse=True)
def _serve_fake() -> Iterator[None]:
    FAKE.start()
    yield
    FAKE.close()


class TestSourceFxiaoke(CrmsyncConnectorSuite, SourceTestSuiteBase):
    folder = "fxiaoke"
    connector_name = "source-fxiaoke"
    connector = SourceFxiaoke
    fake_url = FAKE.url
