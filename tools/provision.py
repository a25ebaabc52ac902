"""`loa provision`: write one unit's bundle (config.toml, trust set, credentials) into a folder.

The hardware comes from hw/ (tools.provision_hw: a board, its port, a modem, an audio output, the role). The bundle
is built in a fresh folder beside OUT and renamed into place only once `loa config check` would pass it
(tools.bundle_dir); an existing unit is replaced only with `force`. A printable label goes beside it (tools.label).

With a CA (`loa ca init`), the unit's own private key is generated straight into its bundle (0600, nowhere else)
next to its certificate (CN = device id). Every unit gets its own status-page password: only its scrypt hash goes
into the bundle (0600); the password itself is returned once, for the label, and kept nowhere. Writes TOML with
tomli-w. Must not import the agent's adapters or runtime.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w

from agent.adapters.web import passwords
from agent.catalog import fit
from agent.config import check as config_check
from agent.config import unit as agent_config
from agent.core.topics import valid_name
from agent.errors import ConfigError
from province import broker, ca
from province.files import write_private, write_public
from tools import bundle_dir, label
from tools.provision_hw import Hardware, sections
from tools.release import RELEASE_TRUST

KEY, CERT, CA_PEM, PASSWORD = "unit.key", "unit.pem", "ca.pem", "mqtt.password"
# Dev machines, demos, benchmarks and tests: the machine's own clock is trusted as it reads (a unit in the field
# trusts the kernel's flag and its own sources), and no NTP query leaves the machine.
DEV_CLOCK: dict[str, dict[str, Any]] = {"trust": {"time_sync": "assume"}, "time": {"ntp_servers": []}}
STATUS_HASH = "status-page.hash"

@dataclass(frozen=True)
class UnitSpec:
    device_id: str
    trust: Path
    broker_url: str
    out: Path
    hardware: Hardware = field(default_factory=Hardware)
    groups: tuple[str, ...] = ()
    audio: str | None = None
    quiet_hours: str | None = None
    broker_dir: Path | None = None
    ca: Path | None = None
    ca_dir: Path | None = None  # issue the unit's own key and certificate from this CA
    replace: bool = False  # re-provisioning: revoke the unit's previous certificate
    force: bool = False  # re-provisioning: replace the unit's existing bundle in `out`
    site: dict[str, Any] = field(default_factory=dict)  # commune, lat, lon: written to unit.json, not the config
    extra: dict[str, Any] = field(default_factory=dict)
    status_port: int = 0  # the technician's status page (0: none; the CLI's default is 8080)
    status_bind: str = "127.0.0.1"
    status_password: str = ""  # empty: a new random one
    release_trust: Path | None = None  # release-trust.jwks from `loa release keygen`; none: updates are refused

    @property
    def tls(self) -> bool:
        return urlsplit(self.broker_url).scheme == "mqtts"


@dataclass(frozen=True)
class Provisioned:
    config: Path
    status_password: str  # for the technician: shown once, stored nowhere (the bundle has only its hash)
    label: Path | None = None  # the printable label beside the bundle


def dev_clock(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Config sections for UnitSpec.extra: DEV_CLOCK, with `extra`'s sections merged over it key by key."""
    merged: dict[str, Any] = {section: dict(values) for section, values in DEV_CLOCK.items()}
    for section, values in (extra or {}).items():
        merged.setdefault(section, {}).update(values)
    return merged


def provision(spec: UnitSpec) -> Path:
    """Validate, then write OUT/config.toml (the agent can run from OUT as it is). Returns the config path."""
    return provision_unit(spec).config


def provision_unit(spec: UnitSpec) -> Provisioned:
    """As `provision`, and the unit's status-page password and label too."""
    _check(spec)
    with bundle_dir.building(spec.out, spec.force) as new:
        password = _write_bundle(dataclasses.replace(spec, out=new))
    commune = str(spec.site.get("commune") or (spec.groups[0] if spec.groups else ""))
    return Provisioned(spec.out / "config.toml", password, label.write_label(spec.out, spec.device_id, commune))


def _write_bundle(spec: UnitSpec) -> str:
    """Everything into spec.out (the fresh folder), checked as `loa config check` checks it; the password back."""
    shutil.copyfile(spec.trust, spec.out / "trust.jwks")
    doc = _config(spec)
    doc["mqtt"] |= _credentials(spec)
    if spec.ca:
        shutil.copyfile(spec.ca, spec.out / CA_PEM)
        doc["mqtt"]["ca"] = CA_PEM
    if spec.release_trust:
        shutil.copyfile(spec.release_trust, spec.out / RELEASE_TRUST)
        doc.setdefault("update", {})["trust"] = RELEASE_TRUST
    agent_config.parse(doc)  # never write a config the agent would refuse
    password = spec.status_password or passwords.new_password()
    write_private(spec.out / STATUS_HASH, passwords.hash_password(password) + "\n")
    problems = config_check.check(_write(spec, doc), fit.problems)
    if problems:
        raise ConfigError("\n".join(problems))
    return password


def _credentials(spec: UnitSpec) -> dict[str, str]:
    """A certificate when there is a CA, else a password when there is a broker folder; the broker folder (if any)
    gets the unit's ACL entries either way."""
    if not spec.ca_dir:
        return _password(spec) if spec.broker_dir else {}
    keys = _certificate(spec)
    if spec.broker_dir:
        broker.add_device(spec.broker_dir, spec.device_id, spec.groups, password=False)
    return keys


def _write(spec: UnitSpec, doc: dict[str, Any]) -> Path:
    write_public(spec.out / "config.toml", "# Loa unit configuration, written by `loa provision`.\n" + tomli_w.dumps(doc))
    if spec.site:
        write_public(spec.out / "unit.json", json.dumps({"id": spec.device_id, **spec.site}, ensure_ascii=False))
    return spec.out / "config.toml"


def _certificate(spec: UnitSpec) -> dict[str, str]:
    """The unit's key pair is made here, in its bundle; only the CA's index learns the certificate."""
    assert spec.ca_dir is not None
    authority = ca.load(spec.ca_dir)
    ca.issue(authority, spec.device_id, "unit", spec.out / KEY, spec.out / CERT, replace=spec.replace)
    shutil.copyfile(authority.ca_pem, spec.out / CA_PEM)
    return {"ca": CA_PEM, "cert": CERT, "key": KEY}


def _password(spec: UnitSpec) -> dict[str, str]:
    assert spec.broker_dir is not None
    password = broker.add_device(spec.broker_dir, spec.device_id, spec.groups)
    assert password is not None
    write_private(spec.out / PASSWORD, password.read_text(encoding="utf-8"))
    return {"username": spec.device_id, "password_file": PASSWORD}


def _check(spec: UnitSpec) -> None:
    if not valid_name(spec.device_id):
        raise ConfigError(f"device id {spec.device_id!r}: use 1-64 characters of A-Z a-z 0-9 . _ -")
    for group in spec.groups:
        if not valid_name(group):
            raise ConfigError(f"--group {group!r}: use 1-64 characters of A-Z a-z 0-9 . _ -")
    if not spec.trust.is_file():
        raise ConfigError(f"--trust: file not found: {spec.trust}")
    if spec.release_trust and not spec.release_trust.is_file():
        raise ConfigError(f"--release-trust: file not found: {spec.release_trust}")
    if spec.audio is not None and spec.hardware.audio_device:
        raise ConfigError("--audio and --audio-device: give one of them")
    sections(spec.hardware)  # every hardware problem at once, before anything is made
    bundle_dir.refuse_existing(spec.out, spec.force)
    _check_credentials(spec)


def _check_credentials(spec: UnitSpec) -> None:
    """Everything that could refuse the unit's identity is asked before any key, certificate or password exists."""
    if spec.ca_dir and not spec.tls:
        raise ConfigError(f"--broker {spec.broker_url}: a unit with a certificate needs an mqtts:// broker URL")
    if spec.broker_dir:
        broker.check_device_name(spec.broker_dir, spec.device_id)
    if spec.ca_dir:
        ca.check_issue(spec.ca_dir, spec.device_id, "unit", replace=spec.replace)


def _config(spec: UnitSpec) -> dict[str, Any]:
    plain = urlsplit(spec.broker_url).scheme == "mqtt"
    doc: dict[str, Any] = {
        "device": {"id": spec.device_id, "groups": list(spec.groups), "state_dir": "state"},
        "mqtt": {**_broker_list(spec.broker_url), **({"allow_plain": True} if plain else {})},
        "trust": {"jwks": "trust.jwks"},
        "web": {"password_hash_file": STATUS_HASH},
    }
    if "lat" in spec.site and "lon" in spec.site:  # reported in the status for the province's system (HTTTN)
        doc["device"]["location"] = [float(spec.site["lat"]), float(spec.site["lon"])]
    for section, values in sections(spec.hardware).items():
        doc.setdefault(section, {}).update(values)
    audio = {k: v for k, v in (("output", spec.audio), ("quiet_hours", spec.quiet_hours)) if v is not None}
    if audio:
        doc.setdefault("audio", {}).update(audio)
    if spec.status_port:
        doc["web"] |= {"status_port": spec.status_port, "status_bind": spec.status_bind}
    for section, values in spec.extra.items():
        doc.setdefault(section, {}).update(values)
    return doc


def _broker_list(text: str) -> dict[str, Any]:
    """`--broker` as the config says it: one broker is `url`; an ordered list (comma-separated, first preferred) is
    `urls`."""
    urls = [u.strip() for u in text.split(",") if u.strip()]
    return {"urls": urls} if len(urls) > 1 else {"url": text}
