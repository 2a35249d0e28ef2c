"""Access Key Secrets in the OS keyring, when a secure one exists.

`keyring` is imported only here and only when a secret is read or written (its backend discovery
costs ~100 ms). A backend is "secure" when keyring itself would recommend it (priority >= 1):
the fail and null backends and keyrings.alt's plain-text files are not. Every call runs with a
timeout, because Secret Service and KWallet can block on an unlock prompt.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

SERVICE = "assist"  # username: the Access Key Id the secret belongs to
TIMEOUT = 3.0

T = TypeVar("T")


def _backend() -> Any | None:
    """The keyring backend to use ($PYTHON_KEYRING_BACKEND wins), or None if keyring fails."""
    try:
        import keyring
        import keyring.core

        return keyring.core.load_env() or keyring.get_keyring()
    except Exception:  # a broken keyring install must not break the CLI
        return None


def _with_timeout(work: Callable[[], T], default: T) -> T:
    """`work()`, or `default` when it raises or does not answer within TIMEOUT seconds."""
    result: list[T] = []

    def run() -> None:
        with contextlib.suppress(Exception):  # any keyring failure means "not available"
            result.append(work())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    return result[0] if result else default


def _is_secure(backend: Any) -> bool:
    return _with_timeout(lambda: float(backend.priority) >= 1, False)


def store(key_id: str, secret: str) -> bool:
    """Keep `secret` in the keyring; False when no secure backend took it."""
    backend = _backend()
    if backend is None or not _is_secure(backend):
        return False

    def save() -> bool:
        backend.set_password(SERVICE, key_id, secret)
        return True

    return _with_timeout(save, False)


def lookup(key_id: str) -> str | None:
    """The secret kept for `key_id`, if any."""
    backend = _backend()
    if backend is None:
        return None
    secret = _with_timeout(lambda: backend.get_password(SERVICE, key_id), None)
    return str(secret) if secret else None


def forget(key_id: str) -> None:
    backend = _backend()
    if backend is not None:
        _with_timeout(lambda: backend.delete_password(SERVICE, key_id), None)
