"""The ``crmsync`` command line.

Subcommands live in their own modules and are imported only when invoked, so ``crmsync
--help`` and ``crmsync validate`` never pay for airbyte_cdk or a database driver. Every
command runs inside ``run_command``: a CrmsyncError becomes its message and documented exit
code, never a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import click

__all__ = ["main"]

#: command name -> (module, attribute, one-line help shown by ``crmsync --help``)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": (
        "sync.cli.validate_cmd",
        "validate",
        "Check the config and every mapping; report all problems.",
    ),
    "preview": ("sync.cli.preview_cmd", "preview", "Read, map and show vouchers without posting anything."),
    "check": ("sync.cli.check_cmd", "check", "Check connectivity, credentials and ERP base data."),
    "sync": ("sync.cli.sync_cmd", "sync", "Run one sync: read, map, post exactly once."),
    "vouchers": ("sync.cli.ops_cmd", "vouchers", "List vouchers with ERP numbers and source records."),
    "failures": ("sync.cli.ops_cmd", "failures", "List quarantined records and failed vouchers."),
    "retry": ("sync.cli.ops_cmd", "retry", "Retry failed vouchers and quarantined records."),
    "remap": ("sync.cli.remap_cmd", "remap", "Apply changed mappings to records already synced."),
    "status": ("sync.cli.ops_cmd", "status", "Last runs, cursors and counts by status."),
    "schedule": ("sync.cli.schedule_cmd", "schedule", "Run sync on the config's cron schedule."),
    "report": ("sync.cli.report_cmd", "report", "Finance reports: vouchers, collections, aging."),
    "remind": ("sync.cli.report_cmd", "remind", "Send overdue-payment reminders."),
    "approve": ("sync.cli.ops_cmd", "approve", "Approve vouchers waiting for approval."),
    "pause": ("sync.cli.ops_cmd", "pause", "Stop posting for every run (kill switch)."),
    "resume": ("sync.cli.ops_cmd", "resume", "Resume posting after pause."),
    "rebind": ("sync.cli.ops_cmd", "rebind", "Move the state to the configured destination on purpose."),
    "reconcile": ("sync.cli.reconcile_cmd", "reconcile", "Match bank receipts to CRM payments."),
    "audit": ("sync.cli.audit_cmd", "audit", "Export or verify the audit trail."),
    "state": ("sync.cli.state_cmd", "state", "State upkeep: new-key, rotate-key, compact."),
    "serve": ("sync.cli.serve_cmd", "serve", "The web console for finance and operators."),
    "users": ("sync.cli.users_cmd", "users", "Web console users and their roles."),
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when it runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (module, _, _) in COMMANDS.items() if _available(module)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not _available(entry[0]):
            return None
        module = importlib.import_module(entry[0])
        command: click.Command = getattr(module, entry[1])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(package_name="crmsync")
def cli() -> None:
    """crmsync: CRM and bank money facts to ERP vouchers, each posted exactly once.

    \b
    Exit codes: 0 all done, 1 some records failed or were quarantined,
    2 configuration error, 3 destination unavailable, 4 another run holds the lock.
    """


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv, prog_name="crmsync")
