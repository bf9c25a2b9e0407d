"""The TLS certificate labcloud serves HTTPS with, on the same port as HTTP (the first byte of a connection
says which: a TLS handshake starts with 0x16).

HTTPS is there for clients that send credentials only over TLS: kubectl and client-go never send a bearer
token to an http:// server, so the kubeconfig `labcloud kubeconfig` writes names https:// and carries this
labcloud's certificate authority (certificate-authority-data) and token.

The user's config folder (core/credentials.config_dir) keeps a certificate authority made on first use
(tls-ca.pem, and its key, 0600) and a server certificate it signed for 127.0.0.1, ::1 and localhost
(tls-server.pem, tls-server-key.pem). A server certificate near its end is made again from the same
authority, so kubeconfigs already written keep working.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from labcloud.core.credentials import config_dir

CA, CA_KEY = "tls-ca.pem", "tls-ca-key.pem"
SERVER, SERVER_KEY = "tls-server.pem", "tls-server-key.pem"
CA_DAYS, SERVER_DAYS, RENEW_DAYS = 3650, 825, 30
HANDSHAKE = 0x16  # the first byte of a TLS record carrying a handshake


@dataclass(frozen=True)
class Certificates:
    ca: Path
    server: Path
    server_key: Path

    def ca_pem(self) -> bytes:
        return self.ca.read_bytes()

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server, self.server_key)
        return context


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _make_ca(folder: Path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "labcloud local CA"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "labcloud")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    _write_private(folder / CA_KEY, _pem_key(key))
    _write_private(folder / CA, cert.public_bytes(serialization.Encoding.PEM))


def _make_server(folder: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca = x509.load_pem_x509_certificate((folder / CA).read_bytes())
    ca_key = serialization.load_pem_private_key((folder / CA_KEY).read_bytes(), None)
    key = _key()
    now = dt.datetime.now(dt.timezone.utc)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
             x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "labcloud")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write_private(folder / SERVER_KEY, _pem_key(key))
    _write_private(folder / SERVER, cert.public_bytes(serialization.Encoding.PEM))


def _days_left(path: Path) -> float:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return -1
    return (cert.not_valid_after_utc - dt.datetime.now(dt.timezone.utc)).total_seconds() / 86400


def certificates(folder: Path | None = None) -> Certificates:
    """This user's certificates, made on first use (and the server's again when it nears its end)."""
    folder = folder or config_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(folder / ".tls.lock", "a") as lock:  # (two servers starting at once make one authority)
        fcntl.flock(lock, fcntl.LOCK_EX)
        _make_missing(folder)
    return Certificates(folder / CA, folder / SERVER, folder / SERVER_KEY)


def _make_missing(folder: Path) -> None:
    if _days_left(folder / CA) < RENEW_DAYS or not (folder / CA_KEY).exists():
        _make_ca(folder)
        _make_server(folder)
    elif _days_left(folder / SERVER) < RENEW_DAYS or not (folder / SERVER_KEY).exists():
        _make_server(folder)
