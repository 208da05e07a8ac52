"""``crmsync users …``: who may log in to the web console (``crmsync serve``), with which role."""

from __future__ import annotations

import sys

import click

from sync.cli.common import config_option, echo_json, format_option, run_command
from sync.config import load_config
from sync.errors import ConfigurationError
from sync.state import StateStore

__all__ = ["users"]

ROLES = ["viewer", "approver", "operator", "admin"]


def _password(prompt: str) -> str:
    """From stdin when it is not a terminal (one line), else asked twice without echo."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise ConfigurationError(
                "no password on stdin", hint="pipe it in: printf '%s\\n' \"$PW\" | crmsync users …"
            )
        return line.rstrip("\r\n")
    value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return value


def _open(config_path: str) -> StateStore:
    from sync.engine.build import open_store

    return open_store(load_config(config_path))


@click.group("users")
def users() -> None:
    """Web console users: viewer (reads everything), approver (+ approve), operator (+ retry,
    dismiss, pause, resume), admin (+ users). Passwords are stored as argon2id hashes."""


@users.command("add")
@config_option
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@run_command
def add(config_path: str, name: str, role: str) -> None:
    """Add a user; the password is read from stdin when it is not a terminal, else asked for."""
    from sync.console.users import add_user

    password = _password(f"password for {name}")
    with _open(config_path) as store:
        add_user(store, name, role, password)
    click.echo(f"user {name} added with role {role}")


@users.command("list")
@config_option
@format_option("table", "json")
@run_command
def list_(config_path: str, fmt: str) -> None:
    """The users and their roles (never a password or hash)."""
    from sync.console.users import list_users

    with _open(config_path) as store:
        found = list_users(store)
    if fmt == "json":
        echo_json(
            [{"name": u.name, "role": u.role, "created": u.created, "updated": u.updated} for u in found]
        )
        return
    if not found:
        click.echo("no users yet: `crmsync users add -c CONFIG NAME --role admin`")
        return
    from sync.tables import plain_table
    from sync.tables.text import to_text

    rows = [[u.name, u.role, u.created, u.updated] for u in found]
    click.echo(
        to_text(plain_table(f"users ({len(found)})", ["name", "role", "created", "updated"], rows)), nl=False
    )


@users.command("remove")
@config_option
@click.argument("name")
@run_command
def remove(config_path: str, name: str) -> None:
    """Remove a user; their sessions end at once."""
    from sync.console.users import remove_user

    with _open(config_path) as store:
        remove_user(store, name)
    click.echo(f"user {name} removed")


@users.command("passwd")
@config_option
@click.argument("name")
@run_command
def passwd(config_path: str, name: str) -> None:
    """Give a user a new password (stdin or prompt, as for add); their sessions end."""
    from sync.console.users import set_password

    password = _password(f"new password for {name}")
    with _open(config_path) as store:
        set_password(store, name, password)
    click.echo(f"password of {name} changed; their sessions ended")
