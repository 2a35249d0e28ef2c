"""The seed README's script reads `Invocation.ResultLists.ResultItem` (DescribeInvocationResults'
2017 shape) and compares `Output` to `MTIzCg==`: it runs unchanged on a controller serving
`--legacy-result-lists`, and nobody else downloads that second copy of the output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Controller, StartAgent, StartController, api, wait_for
from sdk_helpers import ECHO_123_B64

from assistcli.controller import legacy

pytestmark = pytest.mark.e2e

# The seed's check, as written then (with `aliyuncli` spelled `assistcli`): the first record's
# Output, read from the 2017 shape.
SEED_SCRIPT = """
assistcli ecs DescribeInvocationResults --InstanceId "$INSTANCE_ID" --InvokeId "$INVOKE_ID" \\
    > result.json
python3 -c '
import json, sys
result = json.load(open("result.json"))["Invocation"]["ResultLists"]["ResultItem"][0]
sys.exit(result["Output"] != "MTIzCg==")
' && echo OK
"""


def run_echo_123(ctl: Controller, instance_id: str) -> str:
    client = api(ctl)
    command = client.call(
        "CreateCommand", {"Name": "seed", "Type": "RunShellScript", "CommandContent": ECHO_123_B64}
    )
    invoked = client.call(
        "InvokeCommand", {"CommandId": command["CommandId"], "InstanceId": [instance_id]}
    )
    invoke_id = str(invoked["InvokeId"])

    def finished() -> bool:
        answer = client.call("DescribeInvocations", {"InvokeId": invoke_id})
        return bool(answer["Invocations"]["Invocation"][0]["InvokeStatus"] == "Finished")

    wait_for(finished, what=f"{invoke_id} to finish")
    return invoke_id


def test_the_seed_script_runs_unchanged(
    start_controller: StartController, start_agent: StartAgent, tmp_path: Path
) -> None:
    ctl = start_controller("--legacy-result-lists")
    instance_id = start_agent(ctl).instance_id
    invoke_id = run_echo_123(ctl, instance_id)
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",  # assistcli, python3
        "HOME": str(tmp_path),
        "ASSIST_CONFIG_DIR": str(tmp_path),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",  # the secret in the file
        "INSTANCE_ID": instance_id,
        "INVOKE_ID": invoke_id,
    }
    key = ["--access-key-id", ctl.access_key_id, "--access-key-secret", ctl.access_key_secret]
    configure = ["assistcli", "configure", "set", *key, "--endpoint", ctl.endpoint]
    subprocess.run(configure, env=env, cwd=tmp_path, check=True, capture_output=True)
    done = subprocess.run(
        ["sh", "-c", SEED_SCRIPT], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (0, "OK\n"), done.stderr
    answer = api(ctl).call("DescribeInvocationResults", {"InvokeId": invoke_id})
    [item] = answer["Invocation"]["ResultLists"]["ResultItem"]
    [record] = answer["Invocation"]["InvocationResults"]["InvocationResult"]
    assert item == {key: record[key] for key in item}
    assert set(item) == set(legacy.FIELDS)
    assert {"Output", "ExitCode", "InvokeRecordStatus"} <= set(item)


def test_without_the_setting_the_answer_has_no_second_copy(controller: Controller) -> None:
    answer = api(controller).call("DescribeInvocationResults", {"PageSize": 1})
    assert "ResultLists" not in json.dumps(answer)
