"""`loa provision`: write one unit's bundle (config.toml, trust set, credentials) into a folder.

Writes TOML with tomli-w. Must not import the agent's adapters or runtime.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w

from agent import config as agent_config
from agent.errors import ConfigError
from agent.topics import valid_name
from tools import broker
from tools.files import write_public


@dataclass(frozen=True)
class UnitSpec:
    device_id: str
    trust: Path
    broker_url: str
    out: Path
    hw: str = "fake"
    groups: tuple[str, ...] = ()
    audio: str | None = None
    quiet_hours: str | None = None
    broker_dir: Path | None = None
    ca: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def provision(spec: UnitSpec) -> Path:
    """Validate, then write OUT/config.toml (the agent can run from OUT as it is). Returns the config path."""
    _check(spec)
    spec.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(spec.trust, spec.out / "trust.jwks")
    doc = _config(spec)
    if spec.broker_dir:
        password = broker.add_device(spec.broker_dir, spec.device_id, spec.groups)
        shutil.copyfile(password, spec.out / "mqtt.password")
        (spec.out / "mqtt.password").chmod(0o600)
        doc["mqtt"] |= {"username": spec.device_id, "password_file": "mqtt.password"}
    if spec.ca:
        shutil.copyfile(spec.ca, spec.out / "ca.pem")
        doc["mqtt"]["ca"] = "ca.pem"
    agent_config.parse(doc)  # never write a config the agent would refuse
    write_public(spec.out / "config.toml", "# Loa unit configuration, written by `loa provision`.\n" + tomli_w.dumps(doc))
    return spec.out / "config.toml"


def _check(spec: UnitSpec) -> None:
    if not valid_name(spec.device_id):
        raise ConfigError(f"device id {spec.device_id!r}: use 1-64 characters of A-Z a-z 0-9 . _ -")
    for group in spec.groups:
        if not valid_name(group):
            raise ConfigError(f"--group {group!r}: use 1-64 characters of A-Z a-z 0-9 . _ -")
    if not spec.trust.is_file():
        raise ConfigError(f"--trust: file not found: {spec.trust}")
    if spec.hw != "fake":
        raise ConfigError(f"--hw {spec.hw!r}: this version supports only 'fake' hardware")


def _config(spec: UnitSpec) -> dict[str, Any]:
    plain = urlsplit(spec.broker_url).scheme == "mqtt"
    doc: dict[str, Any] = {
        "device": {"id": spec.device_id, "groups": list(spec.groups), "state_dir": "state"},
        "mqtt": {"url": spec.broker_url, **({"allow_plain": True} if plain else {})},
        "trust": {"jwks": "trust.jwks"},
        "hardware": {"relays": spec.hw},
    }
    audio = {k: v for k, v in (("output", spec.audio), ("quiet_hours", spec.quiet_hours)) if v is not None}
    if audio:
        doc["audio"] = audio
    for section, values in spec.extra.items():
        doc.setdefault(section, {}).update(values)
    return doc
