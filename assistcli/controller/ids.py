"""Resource IDs in Alibaba's shape: a type prefix and a random lower-case suffix."""

from __future__ import annotations

import secrets
import string
import uuid

_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 16) -> str:
    """`c-`, `t-`, `mi-` ... followed by `length` random characters."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_secret(length: int = 32) -> str:
    """A random secret of letters and digits (about 190 bits at 32): nothing in it can be read
    as a command-line option or need quoting."""
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(length))


def new_access_key() -> tuple[str, str]:
    """An AccessKeyId in Alibaba's shape (`LTAI...`) and its secret."""
    return "LTAI" + new_secret(20), new_secret(30)


def request_id() -> str:
    return str(uuid.uuid4()).upper()
