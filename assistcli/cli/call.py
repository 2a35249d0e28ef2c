"""One `assistcli ecs <Action>` call: dry-run, pager or waiter, then the output."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from assistcli.cli import session
from assistcli.cli.args import check_required
from assistcli.cli.exits import usage, use_color
from assistcli.cli.globals import GlobalOptions
from assistcli.client import ServerError

if TYPE_CHECKING:
    from assistcli.api.spec import Action
    from assistcli.cli.pager import PagerSpec
    from assistcli.cli.waiter import WaiterSpec
    from assistcli.client import ApiClient
    from assistcli.output import OutputSpec


class Plan(NamedTuple):
    """What to do with a call, checked before anything is sent."""

    output: OutputSpec
    pager: PagerSpec | None = None
    waiter: WaiterSpec | None = None

    @classmethod
    def of(cls, action: Action, options: GlobalOptions) -> Plan:
        if options.pager is not None and options.waiter is not None:
            raise usage("--pager and --waiter cannot be used together")
        if options.dryrun and (options.pager is not None or options.waiter is not None):
            raise usage("--dryrun cannot be used with --pager or --waiter")
        return cls(
            output=_output(action, options.output),
            pager=_pager(action, options.pager),
            waiter=_waiter(action, options.waiter),
        )


def _output(action: Action, fields: tuple[str, ...]) -> OutputSpec:
    from assistcli.api.columns import TABLE_COLUMNS
    from assistcli.output import parse_output

    return parse_output(fields)._replace(preferred=TABLE_COLUMNS.get(action.name, ()))


def _pager(action: Action, fields: tuple[str, ...] | None) -> PagerSpec | None:
    if fields is None:
        return None
    if not action.paged:
        raise usage(f"--pager works with paged actions; {action.name} is not one")
    from assistcli.cli.pager import parse_pager

    return parse_pager(fields)


# How the result of an action that starts work is waited on.
UNTIL = "expr='Invocations.Invocation[0].InvocationStatus' to=Success fail=Failed,PartialFailed"
WAIT_ON = {
    "RunCommand": f"DescribeInvocations --InvokeId ID --waiter {UNTIL},Stopped",
    "InvokeCommand": f"DescribeInvocations --InvokeId ID --waiter {UNTIL},Stopped",
    "SendFile": f"DescribeSendFileResults --InvokeId ID --waiter {UNTIL}",
}


def _waiter(action: Action, fields: tuple[str, ...] | None) -> WaiterSpec | None:
    """--waiter repeats its call, so only a read-only one: repeating RunCommand would run the
    script again at every interval (what the aliyun CLI does)."""
    if fields is None:
        return None
    if not action.read_only:
        wait_on = WAIT_ON.get(action.name, "Describe... --waiter expr=... to=...")
        tip = f"Run {action.name} once without it, then wait on its result:\n"
        tip += f"  assistcli ecs {wait_on}"
        if action.name in WATCHED:
            tip += f"\nor follow it as it runs: assistcli ecs {action.name} ... --watch"
        raise usage(
            f"--waiter repeats the call until a value matches, and {action.name} is not "
            "read-only: each repeat would do it again. --waiter works with Describe and List "
            "actions",
            tip=tip,
        )
    from assistcli.cli.waiter import parse_waiter

    return parse_waiter(fields)


# What --watch follows: the invocation each of these actions makes, or names.
WATCHED = ("RunCommand", "InvokeCommand", "SendFile", "DescribeInvocations")


def _watched(action: Action, params: Mapping[str, str], options: GlobalOptions) -> bool:
    if not options.watch:
        return False
    describe = action.name == "DescribeInvocations"
    if action.name not in WATCHED or (describe and not params.get("InvokeId")):
        what = f"{action.name} without --InvokeId" if describe else action.name
        raise usage(
            "--watch follows an invocation: RunCommand, InvokeCommand, SendFile, or "
            f"DescribeInvocations --InvokeId ID; not {what}"
        )
    if options.dryrun or options.pager is not None or options.waiter is not None:
        raise usage("--watch cannot be used with --dryrun, --pager or --waiter")
    return True


def run(action: Action, params: dict[str, str], options: GlobalOptions) -> int | None:
    """The call; with --watch, the exit code of the runs it follows (cli/follow.py)."""
    check_required(action, params)
    plan = Plan.of(action, options)
    watch = _watched(action, params, options)
    resolved = session.settings(options)
    client = session.client_for(resolved)
    if options.dryrun:
        click.echo(client.prepare(action.name, params).describe())
        return None
    try:
        data = fetch(client, action, params, plan)
    except ServerError as error:
        from assistcli.cli.hints import explain

        error.tip = explain(error, params, resolved)
        raise
    if not options.quiet:
        from assistcli.output import render

        color = use_color(sys.stdout)
        click.echo(render(data, plan.output, query=options.cli_query, color=color))
    if watch:
        from assistcli.cli.follow import print_output

        invoke_id = str(params.get("InvokeId") or data["InvokeId"])
        return print_output(resolved, invoke_id, follow=True, watch=True)
    return None


def fetch(
    client: ApiClient, action: Action, params: Mapping[str, str], plan: Plan
) -> dict[str, Any]:
    if plan.pager is not None:
        from assistcli.cli.pager import collect

        return collect(lambda page: client.call(action.name, page), params, plan.pager)
    if plan.waiter is not None:
        from assistcli.cli.waiter import spinner, wait

        with spinner(sys.stderr.isatty()) as progress:
            return wait(lambda: client.call(action.name, params), plan.waiter, progress=progress)
    return client.call(action.name, params)
