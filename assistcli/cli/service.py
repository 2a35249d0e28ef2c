"""`assistcli controller install|uninstall`: the controller as a systemd service.

`install` writes ROOT/etc/systemd/system/assist-controller.service, which runs this assistcli's
`controller serve` with the data directory (made 0700: its database holds the API secrets) and
address given, and starts it where systemd runs; with another ROOT (an image being built) it
writes the files and prints the commands. The unit and the data directory are written the way
`agentd install` writes its own (agentd/install.py): through no symbolic link, the unit under a
fresh name renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from assistcli.cli.controller import parse_listen
from assistcli.cli.exits import CliError
from assistcli.cli.store import STORE_URL

UNIT_DIR = "etc/systemd/system"
UNIT = "assist-controller.service"
DATA_DIR = Path("/var/lib/assist")

UNIT_TEXT = """\
# Written by `assistcli controller install`; `assistcli controller uninstall` removes it.
[Unit]
Description=Assist controller (Cloud Assistant API)
Wants=network-online.target
After=network-online.target

[Service]
ExecStart={exec_start}
Restart=on-failure
RestartSec=2
# SIGTERM: the controller answers its agents' held polls and exits within a second.
TimeoutStopSec=15
# What it writes (the database holds the API secrets) is for root's eyes only.
UMask=0077
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=full

[Install]
WantedBy=multi-user.target
"""

ROOT = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/"),
    show_default=True,
    help="Install below this directory (an image being built): write the files, print the "
    "commands that start the service.",
)


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DATA_DIR,
    show_default=True,
    help="The controller's data directory (made 0700), as the installed system sees it.",
)
@STORE_URL
@click.option(
    "--listen",
    default="127.0.0.1:8742",
    show_default=True,
    help="Address the controller serves on, HOST:PORT.",
)
@ROOT
@click.option("--no-start", is_flag=True, help="Write the files; do not start the service.")
def install(data_dir: Path, store_url: str | None, listen: str, root: Path, no_start: bool) -> None:
    """Run the controller as a systemd service, assist-controller.service."""
    from agentd import install as units

    parse_listen(listen)
    root = _checked_root(root)
    data_dir = _absolute(data_dir, root)
    argv = [*_assistcli(), "controller", "serve", "--data-dir", str(data_dir), "--listen", listen]
    argv += ["--store", store_url] if store_url else []
    exec_start = " ".join(units.unit_word(word) for word in argv)
    with _files("Install"):
        _make_data_dir(root, data_dir)
        units.write(root, UNIT_DIR, UNIT, UNIT_TEXT.format(exec_start=exec_start).encode(), 0o644)
    click.echo(f"wrote {root / UNIT_DIR / UNIT}")
    click.echo(f"data directory {root / data_dir.relative_to('/')} (0700)")
    _start(root, no_start)
    _hints(root, data_dir, listen)


@click.command()
@ROOT
def uninstall(root: Path) -> None:
    """Stop and remove the controller's systemd service (its data directory is kept)."""
    from agentd import install as units

    root = _checked_root(root)
    runs = units.systemd_runs(root)
    if runs:
        units.systemctl("disable", "--now", UNIT, check=False)  # one never loaded is fine
    with _files("Uninstall"):
        removed = units.remove(root, UNIT_DIR, UNIT)
    if runs and removed:
        _systemctl("daemon-reload")
    for path in removed:
        click.echo(f"removed {path} (the data directory is kept)")
    if not removed:
        click.echo("the controller is not installed here: nothing to remove")


def _checked_root(root: Path) -> Path:
    if not root.is_absolute() or not root.is_dir():
        raise click.BadParameter(
            f"{root} is not an absolute path to a directory", None, None, "--root"
        )
    return root


def _absolute(data_dir: Path, root: Path) -> Path:
    """The data directory as the installed system sees it: a relative one is this machine's."""
    if data_dir.is_absolute():
        return data_dir
    if root != Path("/"):
        why = "give an absolute path (as the installed system sees it)"
        raise click.BadParameter(why, param_hint="--data-dir")
    return data_dir.absolute()


@contextlib.contextmanager
def _files(verb: str) -> Iterator[None]:
    """Failures to write or remove files, as errors the CLI reports (a refusal: not root)."""
    try:
        yield
    except PermissionError as error:
        raise CliError(str(error), tip=f"{verb} as root (sudo).") from None
    except OSError as error:  # a symbolic link in the way, a file where a directory goes...
        raise CliError(str(error)) from None


def _assistcli() -> list[str]:
    """This assistcli, by absolute path: the console script beside this Python (a virtual
    environment's), else the one on PATH, else this Python running the package."""
    beside = Path(sys.executable).parent / "assistcli"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside.absolute())]
    found = shutil.which("assistcli")
    if found:
        return [str(Path(found).absolute())]
    return [sys.executable, "-m", "assistcli"]


def _make_data_dir(root: Path, data_dir: Path) -> None:
    """ROOT/DATA_DIR, made if missing and made 0700 if it was not: it holds the secrets."""
    from agentd import files

    fd = files.open_directory(str(root), str(data_dir.relative_to("/")))
    try:
        os.fchmod(fd, 0o700)
    finally:
        os.close(fd)


def _start(root: Path, no_start: bool) -> None:
    from agentd import install as units

    if root != Path("/"):
        click.echo(f"to start it at boot: systemctl --root={root} enable {UNIT}")
    elif no_start or not units.systemd_runs(root):
        click.echo(f"to start it: systemctl daemon-reload && systemctl enable --now {UNIT}")
    else:
        _systemctl("daemon-reload")
        _systemctl("enable", UNIT)
        _systemctl("restart", UNIT)  # started, or restarted to serve as just installed
        click.echo(f"started {UNIT}")


def _systemctl(*args: str) -> None:
    from agentd import install as units

    try:
        units.systemctl(*args)
    except units.InstallError as error:
        raise CliError(str(error)) from None


def _hints(root: Path, data_dir: Path, listen: str) -> None:
    from assistcli.controller.server import is_loopback
    from assistcli.controller.tls import TlsFiles

    where = f"--data-dir {data_dir}"
    click.echo(f"create an API key: assistcli controller access-key create {where}")
    certificate = TlsFiles.of(root / data_dir.relative_to("/")).cert
    if not is_loopback(parse_listen(listen)[0]) and not certificate.exists():
        click.echo(
            f"serve HTTPS to other machines: assistcli controller tls init {where} --host NAME "
            f"(then systemctl restart {UNIT})"
        )
