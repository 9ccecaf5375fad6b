"""A throwaway CA and a server certificate for ``localhost``/``127.0.0.1`` (TLS registries).

Made in-process with ``cryptography`` (registry-testbed.md §6 does the same with openssl).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TLSFiles", "make_tls"]


@dataclass(frozen=True, slots=True)
class TLSFiles:
    ca_cert: Path
    cert: Path
    key: Path

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts only this CA (pass as httpx ``verify=``)."""
        return ssl.create_default_context(cafile=str(self.ca_cert))


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_tls(directory: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1"), *,
             expired: bool = False, ca: TLSFiles | None = None) -> TLSFiles:
    """Write ``ca.crt``, ``ca.key``, ``server.crt`` and ``server.key`` into ``directory``.

    ``expired``: the server certificate's validity ended yesterday; ``ca``: sign with the CA of
    an earlier ``make_tls`` instead of a new one (so only the certificate is at fault).
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    if ca is not None:
        ca_key = serialization.load_pem_private_key(ca.ca_cert.with_name("ca.key").read_bytes(), None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        return _server(directory, hosts, ca_key, x509.load_pem_x509_certificate(ca.ca_cert.read_bytes()),
                       now=now, expired=expired)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    (directory / "ca.key").write_bytes(_pem_key(ca_key))
    authority = (
        x509.CertificateBuilder()
        .subject_name(_name("imagebot-testbed-ca"))
        .issuer_name(_name("imagebot-testbed-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return _server(directory, hosts, ca_key, authority, now=now, expired=expired)


def _server(directory: Path, hosts: tuple[str, ...], ca_key: ec.EllipticCurvePrivateKey,
            ca: x509.Certificate, *, now: dt.datetime, expired: bool) -> TLSFiles:
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=30))
        .not_valid_after(now - dt.timedelta(days=1) if expired else now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TLSFiles(directory / "ca.crt", directory / "server.crt", directory / "server.key")
    files.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(_pem_key(key))
    return files
