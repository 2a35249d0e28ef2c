"""`agentd register` once, then `agentd run`; `agentd install` does both, as a service."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from agentd import __version__, registration
from agentd.config import Identity, default_state_dir
from assistcli.api import agent as proto

# `agentd install` keeps an identity it finds (5 is not its), and can fail at installing.
INSTALL_EXIT_CODES = registration.EXIT_CODES.replace(registration.EXIT_CODE_5, "") + (
    "  11  the agent could not be installed or started (the message says why)\n"
)


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
    joining = argparse.ArgumentParser(add_help=False)
    joining.add_argument(
        "--server",
        required=True,
        action="append",
        metavar="URL",
        help="controller URL, e.g. https://host:8742; repeat it to name every controller of a "
        "fleet that shares one store: registration tries them in order until one answers, and "
        "`agentd run` talks to one at a time, moving to the next when it cannot be reached",
    )
    joining.add_argument("--activation-id", required=True)
    joining.add_argument("--activation-code", required=True)
    joining.add_argument("--name", help="instance name (default: from the activation)")
    trust = joining.add_mutually_exclusive_group()
    trust.add_argument(
        "--ca-file",
        type=Path,
        help="trust the controller's certificate if this CA (PEM) signed it; kept in the state "
        "directory (default: the system's CAs)",
    )
    trust.add_argument(
        "--ca-fingerprint",
        metavar="sha256:HEX",
        help="fetch the CA the controller publishes and trust it if its SHA-256 is this one",
    )
    register = commands.add_parser(
        "register",
        parents=[state, joining],
        help="register this machine with a controller (once)",
        epilog=registration.EXIT_CODES + registration.SEVERAL_SERVERS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    register.add_argument(
        "--force", action="store_true", help="register a state directory that holds an identity"
    )
    install = commands.add_parser(
        "install",
        parents=[joining],
        help="register, install agentd as a systemd service and start it (as root)",
        epilog=INSTALL_EXIT_CODES + registration.SEVERAL_SERVERS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    install.add_argument(
        "--root", default="/", help="install below this directory instead of / (absolute)"
    )
    install.add_argument("--no-start", action="store_true", help="install, but start nothing")
    install.add_argument(
        "--force",
        action="store_true",
        help="register again when ROOT/var/lib/agentd holds an identity",
    )
    uninstall = commands.add_parser(
        "uninstall", help="stop the service and remove what `agentd install` installed"
    )
    uninstall.add_argument("--root", default="/", help="what was installed below this directory")
    uninstall.add_argument(
        "--purge", action="store_true", help="also remove the state directory (the identity)"
    )
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
    return registration.register(registration.Request.from_args(args, force=args.force), state_dir)


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
        "instance %s serving %s (state in %s)",
        identity.instance_id,
        ", ".join(identity.servers),
        state_dir,
    )
    agent = Agent(identity, state_dir, args.max_concurrency, args.poll_wait)
    return agent.run()


def dispatch(args: argparse.Namespace) -> int:
    if args.command in ("install", "uninstall"):
        from agentd import install

        try:
            return install.install(args) if args.command == "install" else install.uninstall(args)
        except (install.InstallError, OSError) as error:
            hint = " (run it as root)" if isinstance(error, PermissionError) else ""
            print(f"agentd: cannot {args.command}: {error}{hint}", file=sys.stderr)
            return install.NOT_INSTALLED
    state_dir = args.state_dir or default_state_dir()
    return do_register(args, state_dir) if args.command == "register" else do_run(args, state_dir)


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        code = dispatch(args)
    except ValueError as error:
        print(f"agentd: {error}", file=sys.stderr)
        code = 2
    sys.exit(code)
