"""The device CA: private keys 0600 where they belong, certificate names as identities, refusals, revocation."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from agent.errors import ConfigError
from province import ca


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def crl(authority: ca.Authority) -> x509.CertificateRevocationList:
    return x509.load_pem_x509_crl(authority.crl_pem.read_bytes())


@pytest.fixture
def authority(tmp_path: Path) -> ca.Authority:
    return ca.init(tmp_path / "ca")


def test_init_makes_a_private_key_a_ca_certificate_and_an_empty_revocation_list(authority):
    assert mode(authority.root / ca.CA_KEY) == 0o600
    assert cert(authority.ca_pem).extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert len(crl(authority)) == 0
    assert crl(authority).is_signature_valid(authority.key.public_key())


def test_init_refuses_to_replace_a_ca(authority):
    with pytest.raises(ConfigError, match="already exists; a new CA would cut off every provisioned unit"):
        ca.init(authority.root)


def test_a_unit_certificate_names_the_device_and_its_key_is_written_once_0600(authority, tmp_path):
    issued = ca.issue(authority, "dev-001", "unit", tmp_path / "u" / "unit.key", tmp_path / "u" / "unit.pem")
    leaf = cert(tmp_path / "u" / "unit.pem")
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "dev-001"
    assert leaf.serial_number == issued.serial
    assert ExtendedKeyUsageOID.CLIENT_AUTH in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert mode(tmp_path / "u" / "unit.key") == 0o600
    assert not any(p.suffix == ".key" and p.name != ca.CA_KEY for p in authority.root.rglob("*"))


def test_the_broker_certificate_names_127_0_0_1_and_localhost(authority, tmp_path):
    ca.issue(authority, ca.BROKER, "server", tmp_path / "s.key", tmp_path / "s.pem", hosts=("127.0.0.1", "localhost"))
    names = cert(tmp_path / "s.pem").extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]


@pytest.mark.parametrize("name, kind, problem", [
    ("console", "unit", "reserved for the broker or the console"),
    ("loa-broker", "unit", "reserved for the broker or the console"),
    ("a/b", "unit", "use 1-64 characters"),
    ("x" * 65, "unit", "use 1-64 characters"),
    ("ok", "admin", "must be one of unit, console, server"),
])
def test_bad_names_and_kinds_are_refused(authority, tmp_path, name, kind, problem):
    with pytest.raises(ConfigError, match=problem):
        ca.issue(authority, name, kind, tmp_path / "k", tmp_path / "c")
    assert not (tmp_path / "k").exists()


def test_a_second_certificate_for_a_unit_needs_replace_which_revokes_the_first(authority, tmp_path):
    first = ca.issue(authority, "dev-002", "unit", tmp_path / "1.key", tmp_path / "1.pem")
    with pytest.raises(ConfigError, match="dev-002 already has a valid certificate"):
        ca.issue(authority, "dev-002", "unit", tmp_path / "2.key", tmp_path / "2.pem")
    second = ca.issue(authority, "dev-002", "unit", tmp_path / "2.key", tmp_path / "2.pem", replace=True)
    assert [r.serial for r in ca.active(authority.root, "dev-002")] == [second.serial]
    assert crl(authority).get_revoked_certificate_by_serial_number(first.serial) is not None


def test_a_console_name_cannot_become_a_unit(authority, tmp_path):
    ca.issue(authority, "console-qa", "console", tmp_path / "c.key", tmp_path / "c.pem")
    with pytest.raises(ConfigError, match="already the name of a console"):
        ca.issue(authority, "console-qa", "unit", tmp_path / "u.key", tmp_path / "u.pem", replace=True)


def test_revoke_lists_every_valid_certificate_of_the_unit_in_a_signed_crl(authority, tmp_path):
    a = ca.issue(authority, "dev-003", "unit", tmp_path / "a.key", tmp_path / "a.pem")
    ca.issue(authority, "dev-004", "unit", tmp_path / "b.key", tmp_path / "b.pem")
    assert [r.serial for r in ca.revoke(authority, "dev-003")] == [a.serial]
    assert ca.revoke(authority, "dev-003") == []
    listed = crl(authority)
    assert [r.serial_number for r in listed] == [a.serial]
    assert listed.is_signature_valid(authority.key.public_key())


def test_load_names_the_folder_when_there_is_no_ca(tmp_path):
    with pytest.raises(ConfigError, match=f"no CA in {tmp_path}"):
        ca.load(tmp_path)
