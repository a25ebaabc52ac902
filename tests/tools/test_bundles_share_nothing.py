"""Two provisioned units share no key or password, and no private key is found anywhere but in its own bundle
(scanned as bytes: the PEM text and the raw private scalar)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from province import broker, ca
from tools.provision import UnitSpec, provision


@pytest.fixture
def fleet(tmp_path: Path, keys: Path) -> dict[str, Path]:
    """Three units with certificates and two with passwords, from one CA and one broker folder."""
    authority = ca.init(tmp_path / "ca")
    broker.init(tmp_path / "broker", 1883, tls_port=8883, ca_dir=authority.root)
    units = {}
    for name, url, ca_dir in (("t1", "mqtts://127.0.0.1:8883", authority.root), ("t2", "mqtts://127.0.0.1:8883",
                              authority.root), ("t3", "mqtts://127.0.0.1:8883", authority.root),
                              ("p1", "mqtt://127.0.0.1:1883", None), ("p2", "mqtt://127.0.0.1:1883", None)):
        provision(UnitSpec(name, keys / "trust.jwks", url, tmp_path / "units" / name, groups=("xa-a",),
                           broker_dir=tmp_path / "broker", ca_dir=ca_dir))
        units[name] = tmp_path / "units" / name
    return units


def secrets_of(path: Path) -> list[bytes]:
    """The byte strings that must never appear outside `path`'s own bundle."""
    data = path.read_bytes()
    if path.suffix != ".key":
        return [data.strip()]
    key = serialization.load_pem_private_key(data, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    body = b"".join(data.strip().splitlines()[1:-1])
    return [body, key.private_numbers().private_value.to_bytes(32, "big")]


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_no_two_units_share_a_key_or_a_password(fleet):
    credentials = [p.read_bytes() for unit in fleet.values() for p in unit.iterdir()
                   if p.name in ("unit.key", "mqtt.password")]
    assert len(credentials) == 5 and len(set(credentials)) == 5
    certs = [(unit / "unit.pem").read_bytes() for unit in fleet.values() if (unit / "unit.pem").exists()]
    assert len(set(certs)) == 3


def test_no_private_key_or_password_of_a_unit_is_found_anywhere_else(fleet, tmp_path):
    for name, bundle in fleet.items():
        for secret_file in (bundle / "unit.key", bundle / "mqtt.password"):
            if not secret_file.exists():
                continue
            for needle in secrets_of(secret_file):
                leaks = [p for p in files_under(tmp_path) if p.parent != bundle and needle in p.read_bytes()]
                assert all(p.name == f"{name}.password" and p.parent.name == "credentials" for p in leaks), leaks


def test_the_ca_and_broker_keys_are_in_no_bundle(fleet, tmp_path):
    server_keys = [tmp_path / "ca" / ca.CA_KEY, tmp_path / "broker" / "tls" / "server.key",
                   tmp_path / "broker" / "credentials" / "console.key"]
    for key_file in server_keys:
        for needle in secrets_of(key_file):
            assert not [p for p in files_under(tmp_path / "units") if needle in p.read_bytes()], key_file


def test_certificate_units_carry_no_password_and_their_key_is_0600(fleet):
    for name in ("t1", "t2", "t3"):
        assert not (fleet[name] / "mqtt.password").exists()
        assert (fleet[name] / "unit.key").stat().st_mode & 0o777 == 0o600
        assert 'cert = "unit.pem"' in (fleet[name] / "config.toml").read_text()
