"""SendFile on this host: write the file atomically with its mode, owner and group.

The agent is root and the target directory may belong to anyone, so no name in it is trusted.
TargetDir is walked from `/` one directory at a time, each opened without following a symbolic
link (a link anywhere in TargetDir is refused); missing directories are made on the way (0755,
the agent's). The file is written under an unpredictable name, created exclusively, given its
owner and mode through its descriptor, synced, then renamed over the final name: a link there is
replaced, never followed, and nothing is ever written or chmod'ed through a path. `agentd
install` writes its files the same way.
"""

from __future__ import annotations

import contextlib
import errno
import grp
import os
import pwd
import secrets
import stat
from typing import NamedTuple

from agentd.outcome import Outcome, invalid
from assistcli.api.agent import FileTask

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class LinkInPath(OSError):
    """The path passes through a symbolic link."""


class _Attributes(NamedTuple):
    mode: int
    uid: int
    gid: int


def write_file(spec: FileTask) -> Outcome:
    wanted = _check(spec)
    if isinstance(wanted, Outcome):
        return wanted
    try:
        directory = open_directory("/", spec.target_dir)
    except LinkInPath as error:
        return invalid("FilePathInvalid", f"File path is invalid: {error}")
    except OSError as error:
        return _create_failed(error)
    try:
        return _write_into(directory, spec, wanted)
    except OSError as error:
        return _create_failed(error)
    finally:
        os.close(directory)


def _check(spec: FileTask) -> Outcome | _Attributes:
    if not spec.name or "/" in spec.name or "\0" in spec.name or spec.name in (".", ".."):
        return invalid("FileNameInvalid", "File name is invalid")
    path = spec.target_dir
    if not os.path.isabs(path) or "\0" in path or ".." in path.split("/"):
        return invalid("FilePathInvalid", "File path is invalid")
    try:
        mode = int(spec.mode, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o7777:
        return invalid("FileAuthorityInvalid", "Mode is invalid")
    try:
        uid = pwd.getpwnam(spec.owner).pw_uid
    except KeyError:
        return invalid("AccountNotExists", "Owner not exists")
    try:
        gid = grp.getgrnam(spec.group).gr_gid
    except KeyError:
        return invalid("UserGroupNotExists", "Group not exists")
    return _Attributes(mode, uid, gid)


def open_directory(start: str, path: str, make: bool = True) -> int:
    """A descriptor of the directory `path` below `start` (trusted as it is), made if missing
    (0755) unless not `make`, reached through no symbolic link.

    :raises LinkInPath: a link on the way; :raises OSError: as os.open, os.mkdir."""
    current = os.open(start, _DIRECTORY)
    try:
        for name in path.split("/"):
            if name not in ("", "."):
                child = _open_child(current, name, os.path.join(start, path), make)
                os.close(current)
                current = child
    except BaseException:
        os.close(current)
        raise
    return current


def _open_child(parent: int, name: str, path: str, make: bool) -> int:
    try:
        try:
            return os.open(name, _DIRECTORY, dir_fd=parent)
        except FileNotFoundError:
            if not make:
                raise
            with contextlib.suppress(FileExistsError):  # made meanwhile: opened all the same
                os.mkdir(name, 0o755, dir_fd=parent)  # mkdir never follows a link either
            return os.open(name, _DIRECTORY, dir_fd=parent)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR) and is_link(parent, name):
            raise LinkInPath(f"{name!r} in {path} is a symbolic link") from None
        raise


def is_link(parent: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _write_into(directory: int, spec: FileTask, wanted: _Attributes) -> Outcome:
    """Write the file into `directory` (a descriptor); an OSError is the caller's to report."""
    if _is_present(directory, spec.name) and not spec.overwrite:
        return Outcome("Failed", error_code="FileAlreadyExists", error_info="File already exists")
    replace(directory, spec.name, spec.content, wanted.mode, wanted.uid, wanted.gid)
    return Outcome("Success")


def replace(
    directory: int, name: str, content: bytes, mode: int, uid: int = -1, gid: int = -1
) -> None:
    """Write `name` in `directory` (a descriptor) at once, durably: a link there is replaced,
    never followed. uid and gid -1 keep the writer's."""
    temporary = f".agentd-{secrets.token_hex(16)}.tmp"  # no name a local user could plant
    fd = os.open(temporary, _NEW_FILE, 0o600, dir_fd=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)  # after fchown, which clears set-id bits
            os.fsync(fd)
        os.rename(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=directory)
        raise
    with contextlib.suppress(OSError):  # the rename is durable once the directory is synced
        os.fsync(directory)


def _is_present(directory: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _create_failed(error: OSError) -> Outcome:
    return Outcome("Failed", error_code="FileCreateFail", error_info=str(error))
