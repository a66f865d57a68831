"""TLS material for tests: a CA (``broadcaster.provision.tls``), the broker's certificate for
localhost, and client certificates signed by that CA or by another one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from broadcaster.broker import BrokerTLS
from broadcaster.provision.tls import make_ca, make_server_cert


def make_client_cert(ca_key_pem: bytes, ca_cert_pem: bytes, name: str) -> tuple[bytes, bytes]:
    """A client certificate for ``name`` signed by the CA: (key PEM, certificate PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class TLSFiles:
    """A CA, the broker's certificate, and client certificates (one from another CA)."""

    dir: Path
    ca: Path
    server_cert: Path
    server_key: Path

    def broker(self, *, require_certificate: bool = True) -> BrokerTLS:
        return BrokerTLS(self.ca, self.server_cert, self.server_key, require_certificate)

    def client(self, name: str, *, foreign: bool = False) -> tuple[Path, Path]:
        """(certificate, key) files for ``name``; ``foreign`` signs it with another CA."""
        ca_key = (self.dir / ("other-ca.key" if foreign else "ca.key")).read_bytes()
        ca_cert = (self.dir / ("other-ca.crt" if foreign else "ca.crt")).read_bytes()
        key_pem, cert_pem = make_client_cert(ca_key, ca_cert, name)
        stem = f"client-{name}-foreign" if foreign else f"client-{name}"
        cert, key = self.dir / f"{stem}.crt", self.dir / f"{stem}.key"
        cert.write_bytes(cert_pem)
        key.write_bytes(key_pem)
        key.chmod(0o600)
        return cert, key


def make_tls(directory: Path) -> TLSFiles:
    """Write a CA, another CA and a broker certificate for localhost/127.0.0.1 under
    ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for stem in ("ca", "other-ca"):
        key_pem, cert_pem = make_ca(f"test {stem}")
        (directory / f"{stem}.key").write_bytes(key_pem)
        (directory / f"{stem}.crt").write_bytes(cert_pem)
    key_pem, cert_pem = make_server_cert(
        (directory / "ca.key").read_bytes(),
        (directory / "ca.crt").read_bytes(),
        ["localhost", "127.0.0.1"],
    )
    (directory / "server.key").write_bytes(key_pem)
    (directory / "server.crt").write_bytes(cert_pem)
    return TLSFiles(
        directory, directory / "ca.crt", directory / "server.crt", directory / "server.key"
    )
