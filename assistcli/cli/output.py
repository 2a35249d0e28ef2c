"""`assistcli output INVOKE_ID [--instance ID ...] [--follow]`: runs' whole output."""

from __future__ import annotations

import click

from assistcli.cli.globals import GlobalOptions


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("invoke_id")
@click.option(
    "--instance",
    "instance_ids",
    multiple=True,
    metavar="ID",
    help="Only this instance's run (repeat for more). Default: every instance's.",
)
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="Print new output as it arrives, and exit when every run has ended.",
)
@click.pass_context
def output(ctx: click.Context, invoke_id: str, instance_ids: tuple[str, ...], follow: bool) -> int:
    """Print the output of an invocation's runs, all of it that the controller kept, as the
    scripts wrote it. Several instances: each line is prefixed with its instance id.

    \b
    Exit codes, when every run followed has ended (the highest applies):
      0   every run succeeded
      10  a script exited with another code than 0 (Failed)
      11  a run timed out (Timeout)
      12  a run was stopped (Terminated, Cancelled)
      13  a run could not run or failed in the agent (Invalid, Aborted, Error)
      14  without --follow: a run has not ended yet
    """
    from assistcli.cli import session
    from assistcli.cli.follow import print_output

    options = ctx.find_object(GlobalOptions) or GlobalOptions()
    return print_output(session.checked_settings(options), invoke_id, instance_ids, follow=follow)
