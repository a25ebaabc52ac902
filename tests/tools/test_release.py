"""`loa release`: the release key is made once and never next to a command key; a built bundle verifies with its
trust set and no other; `inspect` says why a bundle would be refused; the CLI wiring prints the `update` args."""

from __future__ import annotations

import argparse
import hashlib
import json
import stat
from pathlib import Path

import pytest

import agent
from agent.errors import ConfigError
from province import keys as command_keys
from tools import cli_update, release


def test_keygen_writes_a_private_key_and_a_public_trust_set_once(tmp_path: Path) -> None:
    key = release.keygen(tmp_path / "rel")
    assert stat.S_IMODE((tmp_path / "rel" / release.RELEASE_KEY).stat().st_mode) == 0o600
    trust = json.loads((tmp_path / "rel" / release.RELEASE_TRUST).read_text())
    assert [k["kid"] for k in trust["keys"]] == [key.kid] and "d" not in trust["keys"][0]
    with pytest.raises(ConfigError, match="never overwritten"):
        release.keygen(tmp_path / "rel")


def test_keygen_refuses_the_folder_of_a_command_key(tmp_path: Path) -> None:
    command_keys.init(tmp_path)
    with pytest.raises(ConfigError, match="command key"):
        release.keygen(tmp_path)


def test_a_built_bundle_verifies_with_its_trust_set_only(tmp_path: Path) -> None:
    release.keygen(tmp_path / "rel")
    release.keygen(tmp_path / "other")
    built = release.build(tmp_path / "rel" / release.RELEASE_KEY, version="0.2.0", out=tmp_path / "b.bundle",
                          expires_days=30, now_s=1_800_000_000)
    assert built.sha256 == hashlib.sha256(built.path.read_bytes()).hexdigest()
    assert built.expires_s == 1_800_000_000 + 30 * 86400
    good = release.inspect(built.path, tmp_path / "rel" / release.RELEASE_TRUST)
    assert good["verified"] is True and good["version"] == "0.2.0"
    wrong = release.inspect(built.path, tmp_path / "other" / release.RELEASE_TRUST)
    assert wrong["verified"] is False and wrong["code"] == "release_unknown_key"
    assert release.inspect(built.path)["version"] == "0.2.0"  # without a trust set: shown, not verified


@pytest.mark.parametrize("version", ["latest", "1.2.3.4.5", "v2"])
def test_a_version_the_units_cannot_compare_is_refused(tmp_path: Path, version: str) -> None:
    release.keygen(tmp_path)
    with pytest.raises(ConfigError, match="--version"):
        release.build(tmp_path / release.RELEASE_KEY, version=version, out=tmp_path / "b.bundle")


def test_the_default_version_is_the_packed_sources(tmp_path: Path) -> None:
    release.keygen(tmp_path)
    assert release.build(tmp_path / release.RELEASE_KEY, out=tmp_path / "b.bundle").version == agent.__version__


def test_the_cli_builds_and_prints_the_update_args(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--lang", default="en")
    cli_update.add_parser(p.add_subparsers(dest="command", required=True))
    for argv in (["release", "keygen", str(tmp_path)],
                 ["release", "build", "--key", str(tmp_path / release.RELEASE_KEY), "--version", "1.0",
                  "--out", str(tmp_path / "b.bundle"), "--url", "https://tinh.example.vn/b.bundle"]):
        args = p.parse_args(argv)
        assert args.fn(args) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == {"url": "https://tinh.example.vn/b.bundle",
                       "sha256": hashlib.sha256((tmp_path / "b.bundle").read_bytes()).hexdigest()}
    args = p.parse_args(["release", "inspect", str(tmp_path / "b.bundle"), "--trust", str(tmp_path / "release-trust.jwks")])
    assert args.fn(args) == 0
