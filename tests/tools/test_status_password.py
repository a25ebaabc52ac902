"""`loa provision` gives every unit its own status-page password: printed once, only its scrypt hash in the bundle
(0600), different for every unit, and no default anywhere; a status page cannot be configured without it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from agent.adapters.web import passwords
from agent.config import unit as config
from agent.errors import ConfigError
from province import keys
from tools import cli
from tools.provision import STATUS_HASH

PASSWORD_LINE = re.compile(r"Status page password of (\S+) .*: ([a-z2-9]{4}(?:-[a-z2-9]{4}){3}) \(port 8080\)$")


def provision(tmp_path: Path, capsys: pytest.CaptureFixture[str], device: str) -> tuple[str, Path]:
    assert cli.main(["--lang", "en", "provision", device, "--trust", str(tmp_path / "keys/trust.jwks"),
                     "--broker", "mqtt://127.0.0.1:1883", "--out", str(tmp_path / device)]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    match = PASSWORD_LINE.match(line)
    assert match and match.group(1) == device, line
    return match.group(2), tmp_path / device


def test_the_password_is_printed_once_and_only_its_hash_is_kept(tmp_path: Path, capsys) -> None:
    keys.init(tmp_path / "keys")
    first, bundle = provision(tmp_path, capsys, "u-1")
    second, other = provision(tmp_path, capsys, "u-2")
    assert first != second
    stored = (bundle / STATUS_HASH).read_text()
    assert passwords.verify(first, stored) and not passwords.verify(second, stored)
    assert (bundle / STATUS_HASH).stat().st_mode & 0o777 == 0o600
    for path in [*bundle.rglob("*"), *other.rglob("*"), *(tmp_path / "keys").rglob("*")]:
        if path.is_file():
            assert first.encode() not in path.read_bytes() and second.encode() not in path.read_bytes(), path
    web = tomllib.loads((bundle / "config.toml").read_text())["web"]
    assert web == {"password_hash_file": STATUS_HASH, "status_port": 8080, "status_bind": "0.0.0.0"}


def test_a_status_page_without_a_password_hash_is_refused() -> None:
    raw = {"device": {"id": "a"}, "mqtt": {"url": "mqtts://x"}, "trust": {"jwks": "t"}, "web": {"status_port": 8080}}
    with pytest.raises(ConfigError, match="web.password_hash_file: required when web.status_port is set"):
        config.parse(raw)
    raw["web"] = {"status_port": 70000, "kiosk_prt": 1}
    with pytest.raises(ConfigError) as problems:
        config.parse(raw)
    assert "web.status_port: must be between 0 and 65535" in str(problems.value)
    assert "web.kiosk_prt: unknown key (did you mean 'kiosk_port'?)" in str(problems.value)
