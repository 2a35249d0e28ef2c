"""Resource IDs in Alibaba's shape: a type prefix and a random lower-case suffix."""

from __future__ import annotations

import random
import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits
_random = random.Random()  # seeded from the OS once
_V4_CLEAR = ~((0xF << 76) | (0x3 << 62))  # the version nibble and the variant bits
_V4_SET = (0x4 << 76) | (0x2 << 62)  # version 4, RFC 4122 variant


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
    """A version-4 UUID, upper case. Request ids need to be unique, not secret: this draws from
    the process's own generator instead of paying uuid4's system call and object per request."""
    h = "%032X" % (_random.getrandbits(128) & _V4_CLEAR | _V4_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
