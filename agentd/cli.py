"""`agentd`: the agent that runs on every instance."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """The Assist agent: registers with a controller and runs the scripts it is sent."""
