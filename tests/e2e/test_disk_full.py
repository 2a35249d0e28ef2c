"""A full disk: the API answers ServiceUnavailable (503) in its error shape, and /healthz says the
store cannot be written; both recover once space is freed.

The controller's data directory is a small tmpfs mounted for the test, which needs root.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import REGION, Controller, free_port
from rawclient import ERROR_KEYS, call, describe, json_body, ok_body

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root"),
]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


@pytest.fixture
def on_small_disk(small_disk: Path, tmp_path: Path) -> Iterator[Controller]:
    ctl = Controller(small_disk, free_port())
    (small_disk / "controller.log").symlink_to(tmp_path / "controller.log")  # off the disk
    ctl.create_access_key()
    ctl.start()
    try:
        yield ctl
    finally:
        ctl.stop()  # before the disk is unmounted


def fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as error:
        assert error.errno == 28, error  # ENOSPC
    finally:
        os.close(fd)
    return filler


def create_command(ctl: Controller, name: str) -> requests.Response:
    params = {
        "Action": "CreateCommand",
        "RegionId": REGION,
        "Name": name,
        "Type": "RunShellScript",
        "CommandContent": "ZWNobyAxMjM=",
    }
    return call(ctl.url, ctl.access_key_id, ctl.access_key_secret, params)


def health(ctl: Controller) -> tuple[int, dict[str, object]]:
    resp = requests.get(f"{ctl.url}healthz", timeout=10)
    return resp.status_code, json_body(resp)


def test_a_full_disk_is_a_temporary_failure_and_passes(
    on_small_disk: Controller, small_disk: Path
) -> None:
    ctl = on_small_disk
    ok_body(create_command(ctl, "before"))
    filler = fill(small_disk)

    resp = create_command(ctl, "while full")
    body = json_body(resp)
    assert resp.status_code == 503 and set(body) == ERROR_KEYS, describe(resp)
    assert body["Code"] == "ServiceUnavailable", describe(resp)
    status, said = health(ctl)
    assert status == 503 and said["Status"] == "unwritable", said
    assert "full" in str(said["Message"]), said

    filler.unlink()
    ok_body(create_command(ctl, "after"))
    assert health(ctl) == (200, {"Status": "ok"})
    assert "Traceback" not in ctl.log()
