"""Resource IDs in Alibaba's shape: a type prefix and a random lower-case suffix."""

from __future__ import annotations

import secrets
import string
import uuid

_ALPHABET = string.ascii_lowercase + string.digits


def new_id(prefix: str, length: int = 16) -> str:
    """`c-`, `t-`, `mi-` ... followed by `length` random characters."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def request_id() -> str:
    return str(uuid.uuid4()).upper()
