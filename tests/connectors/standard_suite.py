"""What the CDK's standard tests need to find a crmsync connector that is not in Airbyte's monorepo.

The suites (``airbyte_cdk.test.standard_tests``) locate a connector by its folder name and
``metadata.yaml``; ours live in ``connectors/<system>/`` beside the code, named as the platform
names them in ``metadata.yaml``. Configs in ``integration_tests/`` give file paths relative to
the connector's folder (as its image would see them); they are resolved here, and a fake
server's address is filled in where a config says ``"base_url": "fake"``. Image tests are
skipped with :data:`IMAGE_BYPASS` as their written reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from airbyte_cdk.test.models.scenario import ConnectorTestScenario

REPO = Path(__file__).resolve().parents[2]

IMAGE_BYPASS = (
    "the standard suites' image tests build with the CDK's own Dockerfile on Airbyte's "
    "python-connector-base image, which only a registry serves (none is reachable here); our "
    "images are built by `make images` and run by tests/images; CRMSYNC_IMAGE_TESTS=1 runs these"
)


class CrmsyncConnectorSuite:
    """Mixed into a ``SourceTestSuiteBase``/``DestinationTestSuiteBase`` subclass."""

    folder: ClassVar[str]  # connectors/<folder>
    #: config keys holding paths relative to the connector folder (str or list of str)
    path_keys: ClassVar[tuple[str, ...]] = ()
    #: the fake server's URL (bound when the test module is imported, started by a fixture)
    fake_url: ClassVar[str] = ""

    @classmethod
    def get_connector_root_dir(cls) -> Path:
        return REPO / "connectors" / cls.folder

    @classmethod
    def get_scenarios(cls) -> list[ConnectorTestScenario]:
        scenarios = super().get_scenarios()  # type: ignore[misc]
        root = cls.get_connector_root_dir()
        return [
            s.model_copy(
                update={
                    "config_dict": cls.resolved_config(
                        s.get_config_dict(connector_root=root, empty_if_missing=False)
                    )
                }
            )
            for s in scenarios
        ]

    @classmethod
    def resolved_config(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        config = json.loads(json.dumps(raw))
        root = cls.get_connector_root_dir()
        _resolve(config, cls.path_keys, root)
        if config.get("base_url") == "fake":
            config["base_url"] = cls.fake_url
        dest = config.get("destination")
        if isinstance(dest, dict) and dest.get("base_url") == "fake":
            dest["base_url"] = cls.fake_url
        return config


def _resolve(config: dict[str, Any], keys: tuple[str, ...], root: Path) -> None:
    for key in keys:
        value = config.get(key)
        if isinstance(value, str):
            config[key] = str(root / value)
        elif isinstance(value, list):
            config[key] = [str(root / v) for v in value]
