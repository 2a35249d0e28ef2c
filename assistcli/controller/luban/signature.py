"""The signature of Alibaba's agent: RSASSA-PKCS1-v1_5 with MD5, made with the key it
registered, over instanceId + machineId + timestamp + requestId."""

from __future__ import annotations

import base64
import binascii
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
