"""``crmsync serve``: the web console over the state store (``sync.console``)."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import click

from sync.cli.common import config_option, run_command, setup_logging
from sync.config import AppConfig, load_config
from sync.errors import ConfigurationError

if TYPE_CHECKING:
    from sync.console.config import ConsoleConfig

__all__ = ["serve"]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def console_settings(config: AppConfig, host: str | None, port: int | None) -> ConsoleConfig:
    """The ``console:`` section with the command line's --host/--port over it; refuses to listen
    beyond this machine in plain HTTP (logins and financial data would cross the network in clear)."""
    from sync.config.sections import load_section
    from sync.console.config import ConsoleConfig

    settings = load_section(ConsoleConfig, config.console, "console", config.config_path)
    settings = settings.model_copy(
        update={k: v for k, v in (("host", host), ("port", port)) if v is not None}
    )
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise ConfigurationError(
            "console.tls_cert and console.tls_key go together", hint="give both PEM files, or neither"
        )
    if not _loopback(settings.host) and not (settings.tls or settings.behind_proxy):
        raise ConfigurationError(
            f"the console would listen on {settings.host} without TLS: passwords and financial data "
            "would cross the network in clear",
            hint="set console.tls_cert and console.tls_key, or put a TLS proxy in front and set "
            "console.behind_proxy: true, or listen on 127.0.0.1",
        )
    for name in ("tls_cert", "tls_key"):
        value = getattr(settings, name)
        if value:
            path = config.resolve_path(value)
            if not path.is_file():
                raise ConfigurationError(
                    f"console.{name}: {path} does not exist", hint="give the PEM file's path"
                )
            settings = settings.model_copy(update={name: str(path)})
    return settings


@click.command("serve")
@config_option
@click.option("--host", default=None, help="Address to listen on (default: console.host, 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="Port (default: console.port, 8765)."
)
@run_command
def serve(config_path: str, host: str | None, port: int | None) -> None:
    """The web console: vouchers with their source records, control totals, failures, approvals,
    pause/resume, for users added with `crmsync users add`. Safe beside running syncs."""
    import uvicorn

    from sync.console.app import create_app
    from sync.engine.build import open_store

    setup_logging()
    config = load_config(config_path)
    settings = console_settings(config, host, port)
    with open_store(config) as store:  # creates / migrates the store, and says who may log in
        nobody = not store.console_users()
    if nobody:
        click.echo(
            f"no console users yet: `crmsync users add -c {config_path} NAME --role admin` adds one", err=True
        )
    scheme = "https" if settings.tls else "http"
    click.echo(f"crmsync console on {scheme}://{settings.host}:{settings.port}/ (Ctrl-C stops it)")
    uvicorn.run(
        create_app(config, settings),
        host=settings.host,
        port=settings.port,
        ssl_certfile=settings.tls_cert,
        ssl_keyfile=settings.tls_key,
        proxy_headers=settings.behind_proxy,
        forwarded_allow_ips=settings.trusted_proxies if settings.behind_proxy else None,
        log_config=None,
        server_header=False,
    )
