"""SendFile on this host: write the file atomically with its mode, owner and group."""

from __future__ import annotations

import grp
import os
import pwd
from pathlib import Path

from agentd.outcome import Outcome, invalid
from assistcli.api.agent import FileTask


def write_file(spec: FileTask) -> Outcome:
    problem = _check(spec)
    if problem is not None:
        return problem
    target = Path(spec.target_dir) / spec.name
    if target.exists() and not spec.overwrite:
        return Outcome("Failed", error_code="FileAlreadyExists", error_info="File already exists")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.agentd-tmp")
        with open(tmp, "wb") as handle:
            handle.write(spec.content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, int(spec.mode, 8))
        os.chown(tmp, pwd.getpwnam(spec.owner).pw_uid, grp.getgrnam(spec.group).gr_gid)
        os.replace(tmp, target)
    except OSError as error:
        return Outcome("Failed", error_code="FileCreateFail", error_info=str(error))
    return Outcome("Success")


def _check(spec: FileTask) -> Outcome | None:
    if not spec.name or "/" in spec.name or spec.name in (".", ".."):
        return invalid("FileNameInvalid", "File name is invalid")
    if not os.path.isabs(spec.target_dir):
        return invalid("FilePathInvalid", "File path is invalid")
    try:
        mode = int(spec.mode, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o7777:
        return invalid("FileAuthorityInvalid", "Mode is invalid")
    try:
        pwd.getpwnam(spec.owner)
    except KeyError:
        return invalid("AccountNotExists", "Owner not exists")
    try:
        grp.getgrnam(spec.group)
    except KeyError:
        return invalid("UserGroupNotExists", "Group not exists")
    return None
