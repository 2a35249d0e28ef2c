"""The signature of Alibaba's agent: RSASSA-PKCS1-v1_5 with MD5, made with the key it
registered, over instanceId + machineId + timestamp + requestId; and a memory of request ids
already used, so that a signed request cannot be replayed within the allowed clock skew."""

from __future__ import annotations

import base64
import binascii
import heapq
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

MIN_KEY_BITS = 2048  # what the agent makes; anything weaker is not its key


class BadKey(ValueError):
    """A public key the agent could not have sent."""


def public_key_pem(sent: str) -> str:
    """The PEM of the key a register request carries (Base64 of the PEM text), checked."""
    try:
        pem = base64.b64decode(sent, validate=True)
        key = serialization.load_pem_public_key(pem)
    except (binascii.Error, ValueError, TypeError):
        raise BadKey("publicKey is not Base64 of a PEM public key") from None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_KEY_BITS:
        raise BadKey(f"publicKey is not an RSA key of {MIN_KEY_BITS} bits or more")
    return pem.decode("ascii")


@lru_cache(maxsize=4096)  # loading costs more than verifying; a key never changes
def _loaded(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def valid(pem: str, signature: str, *signed: str) -> bool:
    """Whether `signature` (Base64) signs the concatenation of `signed` with the key `pem`."""
    try:
        raw = base64.b64decode(signature, validate=True)
        _loaded(pem).verify(raw, "".join(signed).encode(), padding.PKCS1v15(), hashes.MD5())
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


class ReplayGuard:
    """Request ids seen, each kept until its timestamp falls out of the skew window (a request
    older than that is refused for its timestamp anyway), at most `capacity` at a time."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._seen: set[str] = set()
        self._expiry: list[tuple[float, str]] = []

    def first_use(self, request_id: str, keep_until: float, now: float) -> bool:
        """Record the id; False when it was seen already. Raises OverflowError when full of
        ids still in their window (a flood): the request is refused, and retried."""
        while self._expiry and self._expiry[0][0] < now:
            self._seen.discard(heapq.heappop(self._expiry)[1])
        if request_id in self._seen:
            return False
        if len(self._seen) >= self.capacity:
            raise OverflowError("too many requests within the clock skew window")
        self._seen.add(request_id)
        heapq.heappush(self._expiry, (keep_until, request_id))
        return True
