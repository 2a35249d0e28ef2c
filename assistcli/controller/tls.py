"""A private certificate authority for one controller, made by `assistcli controller tls init`.

DIR/tls/ holds `ca.pem` (what agents and clients trust), `ca-key.pem`, and the controller's
`server.pem` / `server-key.pem`, signed by the CA for the names and addresses it is reached by.
Running init again keeps the CA (so every agent keeps trusting the controller) and issues a new
server certificate. Keys are ECDSA P-256; key files are 0600 in a 0700 directory, written under
a fresh name and renamed into place, never through a link.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 10 * 365
SERVER_DAYS = 825  # the longest lifetime TLS clients commonly accept for a server certificate


@dataclass(frozen=True)
class TlsFiles:
    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca-key.pem"

    @property
    def cert(self) -> Path:
        return self.folder / "server.pem"

    @property
    def key(self) -> Path:
        return self.folder / "server-key.pem"

    @classmethod
    def of(cls, data_dir: Path) -> TlsFiles:
        return cls(data_dir / "tls")


def fingerprint(pem: bytes) -> str:
    """`sha256:<hex>` of a PEM certificate's DER form, as agents pin it."""
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def public_key_pin(pem: bytes) -> str:
    """`sha256//<base64>` of a PEM certificate's public key (its DER SubjectPublicKeyInfo), as
    `curl --pinnedpubkey` takes it."""
    spki = (
        x509.load_pem_x509_certificate(pem)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return "sha256//" + base64.b64encode(hashlib.sha256(spki).digest()).decode()


def init(data_dir: Path, hosts: list[str]) -> TlsFiles:
    """Make the CA if there is none, and a server certificate for `hosts` (names or IPs)."""
    if not hosts:
        raise ValueError("name at least one host the controller is reached by")
    names = [_subject_name(h) for h in hosts]
    files = TlsFiles.of(data_dir)
    files.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if files.folder.is_symlink() or not files.folder.is_dir():
        raise ValueError(f"{files.folder} is not a directory")
    os.chmod(files.folder, 0o700)
    if files.ca.exists() and files.ca_key.exists():
        ca_cert = x509.load_pem_x509_certificate(files.ca.read_bytes())
        ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{files.ca_key} is not an ECDSA key")
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _ca_certificate(ca_key)
        _write(files.ca_key, _key_pem(ca_key), 0o600)
        _write(files.ca, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _server_certificate(server_key, ca_key, ca_cert, hosts[0], names)
    _write(files.key, _key_pem(server_key), 0o600)
    _write(files.cert, server_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return files


def _subject_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    name = host.rstrip(".").lower()
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_label_ok(label) for label in labels):
        raise ValueError(f"not a host name or IP address: {host!r}")
    return x509.DNSName(name)


def _label_ok(label: str) -> bool:
    ok = label.replace("-", "").isalnum() and label.isascii()
    return 0 < len(label) <= 63 and ok and not label.startswith("-") and not label.endswith("-")


def _validity(days: int) -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(datetime.UTC)
    return now - datetime.timedelta(hours=1), now + datetime.timedelta(days=days)


def _ca_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Assist"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Assist private CA {secrets.token_hex(4)}"),
        ]
    )
    start, end = _validity(CA_DAYS)
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _server_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    common_name: str,
    names: list[x509.GeneralName],
) -> x509.Certificate:
    start, end = _validity(SERVER_DAYS)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write under a fresh name (never through a link someone planted), then rename."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
