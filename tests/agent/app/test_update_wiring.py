"""The [update] section and its wiring: limits checked in one pass, and a release trust set that shares a key with
the command trust set refused before anything starts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent import app
from agent.config import unit as config
from agent.errors import ConfigError
from province import keys as command_keys
from tools import release

BASE = {"device": {"id": "u1"}, "mqtt": {"url": "mqtt://127.0.0.1:1", "allow_plain": True},
        "trust": {"jwks": "trust.jwks"}}


def test_update_defaults_and_limits_in_one_pass() -> None:
    cfg = config.parse(BASE)
    assert (cfg.update.trust, cfg.update.check_s, cfg.update.start_s) == ("", 60, 180)
    with pytest.raises(ConfigError) as refused:
        config.parse(BASE | {"update": {"check_s": 600, "start_s": 300, "max_bundle_mb": 0, "trsut": "x"}})
    text = str(refused.value)
    assert "update.start_s: must be longer than update.check_s" in text and "update.max_bundle_mb" in text
    assert "did you mean 'trust'" in text


def unit(tmp_path: Path, release_trust: Path) -> config.Config:
    command_keys.init(tmp_path / "keys")
    shutil.copyfile(tmp_path / "keys" / "trust.jwks", tmp_path / "trust.jwks")
    shutil.copyfile(release_trust, tmp_path / "release-trust.jwks")
    return config.parse(BASE | {"update": {"trust": "release-trust.jwks"}}, base_dir=tmp_path)


def test_a_release_key_that_is_also_a_command_key_is_refused(tmp_path: Path) -> None:
    command_keys.init(tmp_path / "k")
    cfg = unit(tmp_path, tmp_path / "k" / "trust.jwks")
    shutil.copyfile(tmp_path / "k" / "trust.jwks", tmp_path / "trust.jwks")  # the unit trusts it for commands too
    with pytest.raises(ConfigError, match="never be a command key"):
        app.update_settings(cfg, {})


def test_a_separate_release_key_is_trusted_for_updates(tmp_path: Path) -> None:
    release.keygen(tmp_path / "rel")
    cfg = unit(tmp_path, tmp_path / "rel" / release.RELEASE_TRUST)
    settings = app.update_settings(cfg, {})
    kid = json.loads((tmp_path / "rel" / release.RELEASE_TRUST).read_text())["keys"][0]["kid"]
    assert settings.trust is not None and settings.trust.get(kid) is not None
    assert settings.boot.slot == "base" and settings.test_zone == cfg.hardware.zones[0]


def test_without_update_trust_updates_are_off(tmp_path: Path) -> None:
    assert app.update_settings(config.parse(BASE, base_dir=tmp_path), {}).trust is None
