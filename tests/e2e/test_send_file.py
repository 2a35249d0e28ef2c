"""SendFile written by a real `agentd`, and DescribeSendFileResults.

Reference §3.6 (file-send statuses and ErrorCodes), §6.11 (SendFile: TargetDir created if
missing, FileMode/FileOwner/FileGroup, Overwrite) and §6.12 (the response shape: Overwrite is the
string "true"/"false", VmCount an integer, InvokeInstances.InvokeInstance[]).
"""

from __future__ import annotations

import base64
import os
import pwd
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import TERMINAL, system_user
from conftest import REGION, Agent, Controller, StartAgent, api, wait_for
from rawclient import call, expect_error

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def user() -> Iterator[Any]:
    with system_user() as entry:
        yield entry


def send_file(agent: Agent, **params: Any) -> str:
    body = api(agent.ctl).call("SendFile", {"InstanceId": [agent.instance_id], **params})
    invoke_id = str(body["InvokeId"])
    assert invoke_id.startswith("f-")
    return invoke_id


def send_results(ctl: Controller, **params: Any) -> list[dict[str, Any]]:
    body = api(ctl).call("DescribeSendFileResults", params)
    return list(body["Invocations"]["Invocation"])


def wait_sent(ctl: Controller, invoke_id: str) -> dict[str, Any]:
    """The task once its single instance reached a terminal status."""

    def done() -> dict[str, Any] | None:
        [task] = send_results(ctl, InvokeId=invoke_id)
        [target] = task["InvokeInstances"]["InvokeInstance"]
        return task if target["InvocationStatus"] in TERMINAL else None

    task: dict[str, Any] = wait_for(done, 15, f"file task {invoke_id} to finish")
    return task


def outcome(task: dict[str, Any]) -> tuple[str, str]:
    [target] = task["InvokeInstances"]["InvokeInstance"]
    return target["InvocationStatus"], target["ErrorCode"]


def test_plain_text_file_into_a_missing_directory_with_a_mode(
    controller: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    agent = start_agent(controller)
    target_dir = tmp_path / "new" / "deeper"
    invoke_id = send_file(
        agent,
        Name="hello.txt",
        TargetDir=str(target_dir),
        Content="hello, file\n",
        FileMode="0600",
    )
    task = wait_sent(controller, invoke_id)
    assert outcome(task) == ("Success", "")
    written = target_dir / "hello.txt"
    assert written.read_text() == "hello, file\n"
    info = written.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600
    if os.geteuid() == 0:
        assert (info.st_uid, info.st_gid) == (0, 0)  # FileOwner/FileGroup default to root


def test_base64_content_is_written_byte_for_byte(
    controller: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    agent = start_agent(controller)
    data = bytes(range(256)) * 3
    invoke_id = send_file(
        agent,
        Name="blob.bin",
        TargetDir=str(tmp_path),
        Content=base64.b64encode(data).decode(),
        ContentType="Base64",
    )
    assert outcome(wait_sent(controller, invoke_id)) == ("Success", "")
    written = tmp_path / "blob.bin"
    assert written.read_bytes() == data
    assert stat.S_IMODE(written.stat().st_mode) == 0o644  # the default FileMode


def test_owner_and_group(
    controller: Controller, start_agent: StartAgent, tmp_path: Path, user: Any
) -> None:
    agent = start_agent(controller)
    invoke_id = send_file(
        agent,
        Name="owned.txt",
        TargetDir=str(tmp_path),
        Content="mine\n",
        FileOwner=user.pw_name,
        FileGroup=user.pw_name,  # useradd -U made a group of the same name
        FileMode="0640",
    )
    assert outcome(wait_sent(controller, invoke_id)) == ("Success", "")
    info = (tmp_path / "owned.txt").stat()
    assert (info.st_uid, info.st_gid) == (user.pw_uid, user.pw_gid)
    assert stat.S_IMODE(info.st_mode) == 0o640


def test_overwrite(controller: Controller, start_agent: StartAgent, tmp_path: Path) -> None:
    agent = start_agent(controller)
    existing = tmp_path / "config.txt"
    existing.write_text("old\n")
    kept = wait_sent(
        controller,
        send_file(agent, Name="config.txt", TargetDir=str(tmp_path), Content="new\n"),
    )
    assert outcome(kept) == ("Failed", "FileAlreadyExists")
    assert kept["Overwrite"] == "false"
    assert existing.read_text() == "old\n"
    replaced = wait_sent(
        controller,
        send_file(
            agent, Name="config.txt", TargetDir=str(tmp_path), Content="new\n", Overwrite=True
        ),
    )
    assert outcome(replaced) == ("Success", "")
    assert replaced["Overwrite"] == "true"
    assert existing.read_text() == "new\n"


def test_bad_mode_and_unknown_owner_are_invalid(
    controller: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    agent = start_agent(controller)
    bad_mode = send_file(agent, Name="a.txt", TargetDir=str(tmp_path), Content="x", FileMode="99x")
    no_owner = send_file(
        agent, Name="b.txt", TargetDir=str(tmp_path), Content="x", FileOwner="no-such-owner-x"
    )
    assert outcome(wait_sent(controller, bad_mode)) == ("Invalid", "FileAuthorityInvalid")
    assert outcome(wait_sent(controller, no_owner)) == ("Invalid", "AccountNotExists")
    assert not (tmp_path / "a.txt").exists()
    assert not (tmp_path / "b.txt").exists()


def test_describe_send_file_results_shape_and_filters(
    controller: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    agent = start_agent(controller)
    name = f"shape-{tmp_path.name}.txt"
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / name).write_text("occupied")
    good = send_file(
        agent,
        Name=name,
        TargetDir=str(tmp_path),
        Content="c2hhcGU=",
        ContentType="Base64",
        Description="shape check",
        FileMode="0755",
    )
    bad = send_file(agent, Name=name, TargetDir=str(tmp_path / "taken"), Content="x")
    task = wait_sent(controller, good)
    wait_sent(controller, bad)
    assert (tmp_path / name).read_text() == "shape"

    assert task["InvokeId"] == good
    assert task["Name"] == name
    assert task["Description"] == "shape check"
    assert task["TargetDir"] == str(tmp_path)
    assert (task["FileMode"], task["FileOwner"], task["FileGroup"]) == ("0755", "root", "root")
    assert task["ContentType"] == "Base64"
    assert task["Overwrite"] == "false"  # a string, not a boolean
    assert task["VmCount"] == 1
    assert task["InvocationStatus"] == "Success"
    assert task["CreationTime"]
    assert isinstance(task["Tags"]["Tag"], list)
    [target] = task["InvokeInstances"]["InvokeInstance"]
    assert target["InstanceId"] == agent.instance_id
    assert target["InvocationStatus"] == "Success"
    for field in ("CreationTime", "StartTime", "UpdateTime", "FinishTime"):
        assert target[field], field
    assert (target["ErrorCode"], target["ErrorInfo"]) == ("", "")

    by_name = {t["InvokeId"] for t in send_results(controller, Name=name)}
    assert by_name == {good, bad}
    succeeded = send_results(controller, Name=name, InvocationStatus="Success")
    assert [t["InvokeId"] for t in succeeded] == [good]
    failed = send_results(controller, Name=name, InvocationStatus="Failed")
    assert [t["InvokeId"] for t in failed] == [bad]
    assert failed[0]["InvocationStatus"] == "Failed"
    assert send_results(controller, Name=f"other-{name}") == []

    # File tasks are not command invocations.
    listed = api(controller).call("DescribeInvocations", {"InstanceId": agent.instance_id})
    assert listed["Invocations"]["Invocation"] == []
    assert api(controller).call("DescribeInvocations", {"InvokeId": good})["TotalCount"] == 0


def test_links_planted_in_a_users_directory_are_never_followed(
    controller: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    """A local user owning TargetDir cannot make the root agent write, chmod or chown elsewhere:
    not through a link at the temporary name agents used to use, nor at the file's own name."""
    if os.geteuid() != 0:
        pytest.skip("the agent must run as root for SendFile to cross users")
    nobody = pwd.getpwnam("nobody")
    victims = {}
    for name in ("victim", "victim-2"):
        victims[name] = tmp_path / name
        victims[name].write_text("root's secret\n")
        victims[name].chmod(0o600)
    users_dir = tmp_path / "users-dir"
    users_dir.mkdir()
    os.chown(users_dir, nobody.pw_uid, nobody.pw_gid)
    planted = users_dir / ".f.conf.agentd-tmp"
    planted.symlink_to(victims["victim"])
    (users_dir / "g.conf").symlink_to(victims["victim-2"])
    agent = start_agent(controller)

    common = {"TargetDir": str(users_dir), "FileOwner": "nobody", "Content": "sent\n"}
    first = send_file(agent, Name="f.conf", **common)
    second = send_file(agent, Name="g.conf", Overwrite=True, **common)
    assert outcome(wait_sent(controller, first)) == ("Success", "")
    assert outcome(wait_sent(controller, second)) == ("Success", "")

    for victim in victims.values():
        info = victim.stat()
        assert victim.read_text() == "root's secret\n"
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o600)
    for name in ("f.conf", "g.conf"):  # the link at g.conf was replaced by the file
        written = users_dir / name
        info = written.lstat()
        assert stat.S_ISREG(info.st_mode) and written.read_text() == "sent\n"
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (nobody.pw_uid, 0o644)
    assert planted.is_symlink()
    assert sorted(p.name for p in users_dir.iterdir()) == [planted.name, "f.conf", "g.conf"]


def test_a_link_anywhere_in_target_dir_is_refused(
    controller: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    agent = start_agent(controller)
    through = send_file(agent, Name="a.txt", TargetDir=str(tmp_path / "link" / "sub"), Content="x")
    at_end = send_file(agent, Name="b.txt", TargetDir=str(tmp_path / "link"), Content="x")
    for invoke_id in (through, at_end):
        assert outcome(wait_sent(controller, invoke_id)) == ("Invalid", "FilePathInvalid")
    assert list(real.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "target_dir", "code"),
    [
        ("a.txt", "/tmp/../etc", "InvalidParameter.TargetDir"),
        ("a.txt", "/tmp/..", "InvalidParameter.TargetDir"),
        ("a.txt", "/tmp/a\0b", "FilePathInvalid"),
        ("a\0b.txt", "/tmp", "FileNameInvalid"),
        ("..", "/tmp", "FileNameInvalid"),
        ("a/b.txt", "/tmp", "FileNameInvalid"),
    ],
)
def test_paths_no_agent_could_write_are_refused_at_the_door(
    controller: Controller, name: str, target_dir: str, code: str
) -> None:
    params = {"Action": "SendFile", "RegionId": REGION, "InstanceId.1": "mi-none"}
    params |= {"Name": name, "TargetDir": target_dir, "Content": "x"}
    expect_error(
        call(controller.url, controller.access_key_id, controller.access_key_secret, params),
        400,
        code,
    )
