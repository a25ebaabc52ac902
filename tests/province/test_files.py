"""Secrets are written into files nobody could have planted: a symlink where a secret (or its temporary file) goes
never receives a byte, and the secret is 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agent.errors import ConfigError
from province.files import write_private, write_public


@pytest.fixture
def attacker_file(tmp_path: Path) -> Path:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    target = theirs / "loot"
    target.write_text("before\n")
    target.chmod(0o644)
    return target


def test_a_symlink_planted_as_the_temporary_file_receives_nothing(tmp_path: Path, attacker_file: Path):
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / ".signing.jwk.tmp").symlink_to(attacker_file)  # the name the writer used to open with O_TRUNC
    write_private(keys / "signing.jwk", "the signing key")
    assert attacker_file.read_text() == "before\n"
    assert stat.S_IMODE(attacker_file.stat().st_mode) == 0o644
    assert (keys / "signing.jwk").read_text() == "the signing key"
    assert not (keys / "signing.jwk").is_symlink()
    assert stat.S_IMODE((keys / "signing.jwk").stat().st_mode) == 0o600


def test_a_symlink_planted_where_the_secret_goes_is_refused(tmp_path: Path, attacker_file: Path):
    (tmp_path / "signing.jwk").symlink_to(attacker_file)
    with pytest.raises(ConfigError, match="symbolic link"):
        write_private(tmp_path / "signing.jwk", "the signing key")
    assert attacker_file.read_text() == "before\n"
    assert (tmp_path / "signing.jwk").is_symlink()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_secret_is_0600_whatever_the_umask_and_a_public_file_replaces_a_symlink(tmp_path: Path,
                                                                                  attacker_file: Path):
    old = os.umask(0)
    try:
        write_private(tmp_path / "secret", "s")
        (tmp_path / "trust.jwks").symlink_to(attacker_file)
        write_public(tmp_path / "trust.jwks", "public")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600
    assert attacker_file.read_text() == "before\n" and (tmp_path / "trust.jwks").read_text() == "public"
