"""config.yaml: the typed top-level configuration and its loader."""

from sync.config.loader import load_config
from sync.config.model import AppConfig, ConnectorSection, StateSection

__all__ = ["AppConfig", "ConnectorSection", "StateSection", "load_config"]
