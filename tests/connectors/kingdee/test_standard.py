"""The CDK's standard destination tests against the Kingdee destination and fake."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from airbyte_cdk.test.standard_tests import DestinationTestSuiteBase
from airbyte_cdk.test.standard_tests._job_runner import run_test_job
from airbyte_cdk.test.standard_tests._spec_lint import assert_spec_is_valid, get_single_spec

from sync.airbyte.destination import airbyte_destination
from tests.connectors.kingdee.airbyte_support import ACCOUNTS, customer_codes
from tests.connectors.standard_suite import CrmsyncConnectorSuite
from tests.fakes.kingdee import FakeKingdee

FAKE = FakeKingdee(accounts=ACCOUNTS, customers=customer_codes(), timeout_delay=1.0)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


#: chosen now, so the scenarios collected below know the address; served only while tests run
PORT = _free_port()


@pytest.fixture(scope="module", autouse=True)
def _serve_fake() -> Iterator[None]:
    FAKE.start(PORT)
    yield
    FAKE.stop()


def _kingdee() -> Any:
    return airbyte_destination("kingdee")


class TestDestinationCrmsyncKingdee(CrmsyncConnectorSuite, DestinationTestSuiteBase):
    folder = "kingdee"
    connector_name = "destination-crmsync-kingdee"
    connector = _kingdee
    path_keys = ("mappings",)
    fake_url = f"http://127.0.0.1:{PORT}/k3cloud/"

    def test_spec(self) -> None:
        """The sources' standard spec lint, which the CDK's destination suite does not run yet."""
        result = run_test_job(
            self.create_connector(None),
            "spec",
            test_scenario=None,
            connector_root=self.get_connector_root_dir(),
        )
        spec = get_single_spec(result, connector_name=self.connector_name)
        assert_spec_is_valid(spec, connector_name=self.connector_name)
