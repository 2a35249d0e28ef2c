"""`assistcli`: the command line. Only click is imported at start-up; the rest where used."""

from __future__ import annotations

import click

from assistcli.cli.controller import controller
from assistcli.cli.quickstart import quickstart


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="assist", prog_name="assistcli")
def main() -> None:
    """Run commands on a fleet of machines: a self-hosted, Alibaba Cloud Assistant-compatible
    controller, agent and CLI."""


main.add_command(controller)
main.add_command(quickstart)
