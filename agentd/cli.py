"""`agentd register ...` once, then `agentd run` (usually as a service)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from agentd import __version__, host
from agentd.client import ControllerClient, ControllerUnreachable, Refused
from agentd.config import Identity, default_state_dir
from assistcli.api import agent as proto


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="agentd", description="The Assist agent: runs the scripts its controller sends."
    )
    root.add_argument("--version", action="version", version=f"agentd {__version__}")
    commands = root.add_subparsers(dest="command", required=True)
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where the agent keeps its identity and outbox "
        "(default: $AGENTD_STATE_DIR, /var/lib/agentd as root, ~/.local/state/agentd)",
    )
    register = commands.add_parser(
        "register", parents=[state], help="register this machine with a controller (once)"
    )
    register.add_argument("--server", required=True, help="controller URL, e.g. http://host:8742")
    register.add_argument("--activation-id", required=True)
    register.add_argument("--activation-code", required=True)
    register.add_argument("--name", help="instance name (default: from the activation)")
    run = commands.add_parser("run", parents=[state], help="serve until stopped")
    run.add_argument("--max-concurrency", type=int, default=8, help="tasks run at once (default 8)")
    run.add_argument(
        "--poll-wait",
        type=float,
        default=proto.POLL_WAIT,
        help=f"seconds a poll may be held open while there is no work (default "
        f"{proto.POLL_WAIT:.0f}, at most {proto.MAX_WAIT:.0f}); the controller streams a newline "
        "into it every --agent-keepalive seconds, so proxies between them do not time it out",
    )
    return root


def do_register(args: argparse.Namespace, state_dir: Path) -> int:
    request = {
        **host.facts().to_wire(),
        "activation_id": args.activation_id,
        "activation_code": args.activation_code,
        "instance_name": args.name or "",
    }
    try:
        answer = ControllerClient(args.server).register(request)
    except Refused as refusal:
        print(f"agentd: registration refused: {refusal.code}: {refusal.message}", file=sys.stderr)
        return 3
    except ControllerUnreachable as error:
        print(f"agentd: cannot reach the controller: {error}", file=sys.stderr)
        return 4
    identity = Identity(
        args.server, answer["instance_id"], answer["instance_name"], answer["secret"]
    )
    identity.save(state_dir)
    print(identity.instance_id)
    return 0


def do_run(args: argparse.Namespace, state_dir: Path) -> int:
    from agentd.service import Agent

    try:
        identity = Identity.load(state_dir)
    except FileNotFoundError:
        print(
            f"agentd: not registered (no identity in {state_dir}); run `agentd register`",
            file=sys.stderr,
        )
        return 2
    if args.max_concurrency < 1:
        print("agentd: --max-concurrency must be at least 1", file=sys.stderr)
        return 2
    if not 0 < args.poll_wait <= proto.MAX_WAIT:
        print(
            f"agentd: --poll-wait must be above 0 and at most {proto.MAX_WAIT:.0f}", file=sys.stderr
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s agentd %(levelname)s %(message)s")
    logging.getLogger("agentd").info(
        "instance %s serving %s (state in %s)", identity.instance_id, identity.server, state_dir
    )
    agent = Agent(identity, state_dir, args.max_concurrency, args.poll_wait)
    return agent.run()


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    state_dir = args.state_dir or default_state_dir()
    try:
        code = (
            do_register(args, state_dir) if args.command == "register" else do_run(args, state_dir)
        )
    except ValueError as error:
        print(f"agentd: {error}", file=sys.stderr)
        code = 2
    sys.exit(code)
