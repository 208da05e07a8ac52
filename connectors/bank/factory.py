"""build() for every bank and payment-platform type in config.yaml.

One package serves eight ``type:`` values (camt052, camt053, camt054, mt940, cmb, stripe,
alipay_bill, wechat_bill); the section's ``type`` (or, standalone, ``format``) picks the
parser or client. File formats need ``path`` (a glob, relative to config.yaml); the API
formats need their credentials, typed ``SecretStr`` so they never print.
"""

from __future__ import annotations

from connectors.bank.config import FILE_FORMATS, FORMATS, Config
from sync.connector import BuildContext, SourceHandle
from sync.secrets import register_secret

__all__ = ["FILE_FORMATS", "FORMATS", "Config", "build"]


def build(config: Config, ctx: BuildContext) -> SourceHandle:
    """The in-process source for one configured bank/platform section."""
    from connectors.bank.source import BankSource

    for secret in (config.secret, config.api_key):
        if secret is not None:
            register_secret(secret.get_secret_value())
    plain = config.plain()
    if config.path:
        plain["path"] = str(ctx.resolve(config.path))
    return SourceHandle(source=BankSource(), config=plain, system=str(config.format))
