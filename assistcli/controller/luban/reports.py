"""The reports of Alibaba's agent (`/luban/api/v1/task/<kind>`), as the run events agentd
reports: the same statuses, exit codes, error codes and output, applied exactly once.

Output reports are sent once each; ending reports are retried (up to 4 times, identically) and
applied once. Runs are told apart by their `start` (see Store.apply_run_reports).
"""

from __future__ import annotations

from dataclasses import replace

from starlette.responses import Response

from assistcli.api.agent import OUTPUT_LIMIT
from assistcli.api.status import RecordStatus
from assistcli.controller.luban.calls import Call, Handler, ok
from assistcli.controller.models import RunReport

SCRIPT_FILE_EXISTED = -9  # a one-time task handed out again after it ran: not a new outcome
# The agent's own error codes (negative) by name; a positive one is an errno.
ERRORS = {
    -1: "GetScriptPathFailed",
    -2: "UnknownCommandType",
    -3: "Base64DecodeFailed",
    -4: "SaveScriptFileFailed",
    -5: "SetExecutablePermissionFailed",
    -6: "SetWindowsPermissionFailed",
    -8: "NoEnoughSpace",
    -10: "PowershellNotFound",
    -11: "SystemDefaultShellNotFound",
    -12: "ResolveEnvironmentParameterFailed",
    -13: "GeneralError",
}
# Its refusals of a task, by agentd's names where agentd refuses the same way.
INVALID = {
    "workingDirectory": "DirectoryNotExists",
    "UsernameOrPasswordInvalid": "AccountNotExists",
}
# SendFile: failures and refusals, by agentd's names.
FILE_FAILED = {
    "1": ("FileCreateFail", "Failed to create the file."),
    "2": ("FileCreateFail", "Failed to change the owner of the file."),
    "3": ("FileAuthorityInvalid", "Failed to change the mode of the file."),
    "4": ("FilePathInvalid", "Failed to create the target directory."),
}
FILE_INVALID = {
    "FileExist": (RecordStatus.FAILED, "FileAlreadyExists", "File already exists"),
    "FileNameInvalid": (RecordStatus.INVALID, "FileNameInvalid", "File name is invalid"),
    "InvalidFileMode": (RecordStatus.INVALID, "FileAuthorityInvalid", "Mode is invalid"),
    "FileOwnerNotExist": (RecordStatus.INVALID, "AccountNotExists", "Owner not exists"),
    "FileGroupNotExist": (RecordStatus.INVALID, "UserGroupNotExists", "Group not exists"),
}
NONZERO = ("ExitCodeNonzero", "The command execution exit code is not zero.")
TIMED_OUT = ("ExecutionTimeout", "The command execution has been timeout.")


def report(kind: str) -> Handler:
    """The handler of `/task/<kind>`."""

    async def handle(call: Call) -> Response:
        found = _read(kind, call)
        if found is not None:
            await call.ctx.store.apply_run_reports(
                call.instance_id, [found], call.ctx.now, OUTPUT_LIMIT
            )
        return ok(call)

    return handle


def _read(kind: str, call: Call) -> RunReport | None:
    """The run event a report means, or None when it changes nothing."""
    q = call.query
    if q.get("taskType") == "sendfile":
        return _file_result(kind, call)
    end = call.number("end")
    output = RunReport(
        invoke_id=q.get("taskId", ""),
        version=call.number("invokeVersion"),
        start_ms=call.number("start"),
        event="output",
        time=end / 1000 if end else call.ctx.now,
        output=call.body,
    )
    if kind == "running":
        return output
    ending = replace(output, event="finished", dropped=max(0, call.number("dropped")))
    exit_code = call.number("exitCode")
    if kind == "finish":
        if exit_code == 0:
            return replace(ending, status=RecordStatus.SUCCESS, exit_code=0)
        return _failed(ending, RecordStatus.FAILED, exit_code, NONZERO)
    if kind == "timeout":
        return _failed(ending, RecordStatus.TIMEOUT, exit_code, TIMED_OUT)
    if kind == "error":
        code = call.number("errCode")
        if code == SCRIPT_FILE_EXISTED:
            return None
        name = ERRORS.get(code, "ExecutionException")
        return _failed(ending, RecordStatus.ERROR, exit_code, (name, q.get("errDesc", "")))
    if kind == "invalid":
        param = q.get("param", "")
        error = (INVALID.get(param, param or "InvalidTask"), q.get("value", ""))
        return _failed(ending, RecordStatus.INVALID, None, error)
    if kind == "stopped" and q.get("result", "killed") == "killed":
        return replace(ending, status=RecordStatus.TERMINATED, exit_code=call.number("exitcode"))
    return None  # stopped/completed: a schedule that has no further run; verified: no test


def _failed(
    ending: RunReport, status: RecordStatus, exit_code: int | None, error: tuple[str, str]
) -> RunReport:
    code, info = error
    return replace(ending, status=status, exit_code=exit_code, error_code=code, error_info=info)


def _file_result(kind: str, call: Call) -> RunReport | None:
    q = call.query
    if kind == "finish" and q.get("status") == "Success":
        status, (code, info) = RecordStatus.SUCCESS, ("", "")
    elif kind == "finish":
        status = RecordStatus.FAILED
        code, info = FILE_FAILED.get(q.get("errorcode", ""), ("FileCreateFail", ""))
    elif kind == "invalid":
        param = q.get("param", "")
        status, code, info = FILE_INVALID.get(
            param, (RecordStatus.INVALID, param, q.get("value", ""))
        )
    else:
        return None
    return RunReport(
        invoke_id=q.get("taskId", ""),
        version=0,
        start_ms=0,
        event="finished",
        time=call.ctx.now,
        status=status,
        error_code=code,
        error_info=info,
    )
