"""`loa ca`: the device certificate authority. One CA folder holds the CA key (0600), the CA certificate, an index
of every certificate issued (public data only) and the revocation list the broker loads.

Each certificate's private key is written once, 0600, where its owner lives (a unit's bundle folder, the broker's
folder) and never copied. Uses `cryptography`. Must not import the agent's adapters or runtime, nor paho.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from agent.core.topics import valid_name
from agent.errors import ConfigError
from province.files import write_private, write_public

CA_KEY, CA_CERT, CRL, INDEX = "ca.key", "ca.pem", "crl.pem", "index.json"
CONSOLE, BROKER = "console", "loa-broker"
RESERVED = {CONSOLE, BROKER}
CA_DAYS, LEAF_DAYS = 20 * 365, 10 * 365
# The broker refuses every client once its CRL is past next_update, so the list is re-signed on every change and
# given a long life: the CA and the broker sit on the same provincial server, so a stale list is not a threat here.
CRL_DAYS = 10 * 365
KINDS = ("unit", "console", "server")


@dataclass(frozen=True)
class Issued:
    """What the index remembers of one certificate (no secrets)."""

    serial: int
    cn: str
    kind: str
    not_after: str
    revoked: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"serial": f"{self.serial:x}", "cn": self.cn, "kind": self.kind, "not_after": self.not_after,
                "revoked": self.revoked}


@dataclass(frozen=True)
class Authority:
    root: Path
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def ca_pem(self) -> Path:
        return self.root / CA_CERT

    @property
    def crl_pem(self) -> Path:
        return self.root / CRL


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Loa"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _pem_cert(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())  # P-256: every TLS stack on a unit or broker speaks it


# ---- the CA itself -----------------------------------------------------------------------------------------------


def init(root: Path, *, name: str = "Loa device CA") -> Authority:
    """Make a new CA in ROOT; refuses to replace an existing one (every unit pins it)."""
    if (root / CA_KEY).exists():
        raise ConfigError(f"{root / CA_KEY} already exists; a new CA would cut off every provisioned unit")
    key = _new_key()
    write_private(root / CA_KEY, _pem_key(key))
    write_public(root / CA_CERT, _pem_cert(_ca_cert(key, name)))
    write_public(root / INDEX, json.dumps({"issued": []}, indent=1))
    ca = load(root)
    write_crl(ca)
    return ca


def _ca_cert(key: ec.EllipticCurvePrivateKey, name: str) -> x509.Certificate:
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(cert_sign=True), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not cert_sign, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
                         encipher_only=False, decipher_only=False)


def load(root: Path) -> Authority:
    try:
        key = serialization.load_pem_private_key((root / CA_KEY).read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate((root / CA_CERT).read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"no CA in {root} (make one with `loa ca init {root}`)") from None
    except ValueError as exc:
        raise ConfigError(f"{root}: the CA key or certificate is unreadable ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{root / CA_KEY}: not an EC private key")
    return Authority(root, key, cert)


# ---- the index of issued certificates ----------------------------------------------------------------------------


def issued(root: Path) -> list[Issued]:
    rows = json.loads((root / INDEX).read_text(encoding="utf-8"))["issued"]
    return [Issued(int(r["serial"], 16), r["cn"], r["kind"], r["not_after"], r.get("revoked")) for r in rows]


def _save_index(root: Path, rows: list[Issued]) -> None:
    write_public(root / INDEX, json.dumps({"issued": [r.as_dict() for r in rows]}, indent=1))


def active(root: Path, cn: str) -> list[Issued]:
    return [r for r in issued(root) if r.cn == cn and r.revoked is None]


# ---- issuing -----------------------------------------------------------------------------------------------------


def issue(ca: Authority, cn: str, kind: str, key_path: Path, cert_path: Path, *,
          hosts: tuple[str, ...] = (), replace: bool = False) -> Issued:
    """A new key (written 0600 at key_path, nowhere else) and its certificate; CN = the identity the broker sees."""
    check_issue(ca.root, cn, kind, replace=replace)
    key = _new_key()
    cert = _leaf(ca, key, cn, kind, hosts)
    write_private(key_path, _pem_key(key))
    write_public(cert_path, _pem_cert(cert))
    record = Issued(cert.serial_number, cn, kind, cert.not_valid_after_utc.isoformat())
    if replace:
        revoke(ca, cn)
    _save_index(ca.root, [*issued(ca.root), record])
    return record


def check_issue(root: Path, cn: str, kind: str, *, replace: bool = False) -> None:
    """Raises ConfigError if the CA in root would refuse to issue this certificate (so callers can ask first)."""
    _check_name(cn, kind)
    live = active(root, cn) if kind != "server" else []  # several brokers may share one CA
    if any(r.kind != kind for r in live):
        raise ConfigError(f"{cn!r} is already the name of a {live[0].kind}; pick another name")
    if live and not replace:
        raise ConfigError(f"{cn} already has a valid certificate (serial {live[0].serial:x}); "
                          "revoke it first or re-provision with --replace")


def _check_name(cn: str, kind: str) -> None:
    if kind not in KINDS:
        raise ConfigError(f"certificate kind {kind!r}: must be one of {', '.join(KINDS)}")
    if not valid_name(cn):
        raise ConfigError(f"certificate name {cn!r}: use 1-64 characters of A-Z a-z 0-9 . _ -")
    if kind == "unit" and cn in RESERVED:
        raise ConfigError(f"device id {cn!r} is reserved for the broker or the console")


def _leaf(ca: Authority, key: ec.EllipticCurvePrivateKey, cn: str, kind: str,
          hosts: tuple[str, ...]) -> x509.Certificate:
    now = _now()
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca.cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(_usage(cert_sign=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([_purpose(kind)]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False))
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
    return builder.sign(ca.key, hashes.SHA256())


def _purpose(kind: str) -> x509.ObjectIdentifier:
    return ExtendedKeyUsageOID.SERVER_AUTH if kind == "server" else ExtendedKeyUsageOID.CLIENT_AUTH


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


# ---- revocation --------------------------------------------------------------------------------------------------


def revoke(ca: Authority, cn: str) -> list[Issued]:
    """Revoke every valid certificate of CN and re-sign the CRL. Returns what was revoked (empty: nothing valid)."""
    rows, when = issued(ca.root), _now().isoformat()
    hit = [r for r in rows if r.cn == cn and r.revoked is None]
    _save_index(ca.root, [Issued(r.serial, r.cn, r.kind, r.not_after, when) if r in hit else r for r in rows])
    write_crl(ca)
    return hit


def write_crl(ca: Authority) -> Path:
    now = _now()
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.cert.subject)
               .last_update(now - dt.timedelta(minutes=5)).next_update(now + dt.timedelta(days=CRL_DAYS)))
    for row in issued(ca.root):
        if row.revoked:
            builder = builder.add_revoked_certificate(_revoked(row))
    write_public(ca.crl_pem, builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())
    return ca.crl_pem


def _revoked(row: Issued) -> x509.RevokedCertificate:
    when = dt.datetime.fromisoformat(row.revoked or "")
    return x509.RevokedCertificateBuilder().serial_number(row.serial).revocation_date(when).build()
