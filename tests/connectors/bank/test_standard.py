"""The CDK's standard source tests against the bank source, from connectors/bank/integration_tests/."""

from __future__ import annotations

from airbyte_cdk.test.standard_tests import SourceTestSuiteBase

from connectors.bank.source import BankSource
from tests.connectors.standard_suite import CrmsyncConnectorSuite


class TestSourceCrmsyncBank(CrmsyncConnectorSuite, SourceTestSuiteBase):
    folder = "bank"
    connector_name = "source-crmsync-bank"
    connector = BankSource
    path_keys = ("path",)
