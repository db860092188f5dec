"""The ``proximity`` command line: every verb ends in the same SDK call a notebook or the dashboard makes.

Sub-commands live in their own modules and are imported only when used, so ``proximity --help`` stays fast
and a broken optional front end never takes the others down.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

from proximity import __version__

# command name -> "module:attribute" of a click command or group
SUBCOMMANDS: dict[str, str] = {
    "sim": "proximity.cli.sim_cmd:sim",
    "catalog": "proximity.cli.catalog_cmd:catalog",
    "hosts": "proximity.cli.hosts_cmd:hosts",
    "apps": "proximity.cli.apps_cmd:apps",
    "backups": "proximity.cli.backups_cmd:backups",
    "jobs": "proximity.cli.jobs_cmd:jobs",
    "demo": "proximity.cli.demo_cmd:demo",
    "dashboard": "proximity.cli.dashboard_cmd:dashboard",
    "ask": "proximity.cli.ask_cmd:ask",
    "audit": "proximity.cli.audit_cmd:audit",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, target in SUBCOMMANDS.items() if _module_exists(target))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None or not _module_exists(target):
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)


def _module_exists(target: str) -> bool:
    return importlib.util.find_spec(target.split(":")[0]) is not None


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="proximity")
def main() -> None:
    """Proximity: a personal app store for Proxmox VE."""
