"""The CDK's standard source tests against the files source, from connectors/files/integration_tests/."""

from __future__ import annotations

from airbyte_cdk.test.standard_tests import SourceTestSuiteBase

from connectors.files.source import SourceFiles
from tests.connectors.standard_suite import CrmsyncConnectorSuite


def _standalone() -> SourceFiles:
    return SourceFiles(sweep_markers=False)  # as the console script runs it


class TestSourceCrmsyncFiles(CrmsyncConnectorSuite, SourceTestSuiteBase):
    folder = "files"
    connector_name = "source-crmsync-files"
    connector = _standalone
    path_keys = ("path",)
