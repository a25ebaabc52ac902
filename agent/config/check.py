"""A unit's whole bundle checked without starting the agent (`loa config check`): its config.toml and the files it
names next to it (trust set, key, certificate, password, status-page hash, release trust), every problem at once,
each a coded Problem (key path, code, parameters) that tools render in Vietnamese and English.

The hardware's fit (board, zones, modem) is the catalog's to judge: the caller passes agent.catalog.fit.problems
in, since the catalog reads the config and not the other way round. Must not import adapters; reads files only.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.config.engine import Problem, Problems, read_toml
from agent.config.unit import Config, parse_problems
from agent.core.topics import valid_name
from agent.core.verify import TrustError, load_trust
from agent.errors import ConfigError

HardwareCheck = Callable[[Config], list[Problem]]


def check(path: Path, hardware: HardwareCheck | None = None) -> Problems:
    """Every problem of the config at `path` and its bundle; empty when the agent would start with it.
    Raises FileNotFoundError when there is no file at `path` (a usage error, not a problem of the config)."""
    if not path.is_file():
        raise FileNotFoundError(path)
    try:
        raw = read_toml(path, "config file")
    except ConfigError as exc:
        return Problems([Problem("", "unreadable", str(exc), detail=str(exc))])
    config, problems = parse_problems(raw, base_dir=path.resolve().parent)
    if config is not None:
        problems.extend(names(config) + files(config) + (hardware(config) if hardware else []))
    return problems


def names(cfg: Config) -> list[Problem]:
    """What the agent refuses at start beyond the file's own rules: ids and groups, the time zone."""
    found = [Problem("device.id" if n == cfg.device.id else "device.groups", "name", f"{n!r} must be 1-64 "
                     "characters of A-Z a-z 0-9 . _ -", got=repr(n)) for n in (cfg.device.id, *cfg.device.groups)
             if not valid_name(n)]
    try:
        ZoneInfo(cfg.device.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        found.append(Problem("device.timezone", "timezone", f"unknown time zone {cfg.device.timezone!r}",
                             got=repr(cfg.device.timezone)))
    return found


def files(cfg: Config) -> list[Problem]:
    m, w = cfg.mqtt, cfg.web
    found = _key_set("trust.jwks", cfg, cfg.trust.jwks)
    found += _key_set("update.trust", cfg, cfg.update.trust) if cfg.update.trust else []
    found += _present("mqtt.ca", cfg, m.ca) + _present("mqtt.cert", cfg, m.cert)
    found += _secret("mqtt.key", cfg, m.key, "PRIVATE KEY") + _secret("mqtt.password_file", cfg, m.password_file)
    if w.status_port:
        found += _secret("web.password_hash_file", cfg, w.password_hash_file)
    if bool(m.cert) != bool(m.key):
        found.append(Problem("mqtt.key" if m.cert else "mqtt.cert", "pair", "a certificate needs its key and a key "
                             "its certificate (mqtt.cert and mqtt.key)"))
    if m.cert and not m.ca:
        found.append(Problem("mqtt.ca", "ca_needed", "a unit with a certificate pins its broker's CA (mqtt.ca)"))
    return found


def _present(key: str, cfg: Config, value: str) -> list[Problem]:
    if not value:
        return []
    path = cfg.path(value)
    if path.is_file():
        return []
    return [Problem(key, "file_missing", f"file not found: {path}", path=str(path))]


def _key_set(key: str, cfg: Config, value: str) -> list[Problem]:
    missing = _present(key, cfg, value)
    if missing:
        return missing
    path = cfg.path(value)
    try:
        load_trust(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TrustError) as exc:
        return [Problem(key, "key_set", f"{path} is not a usable Ed25519 JWK Set ({exc})", path=str(path),
                        detail=str(exc))]
    return []


def _secret(key: str, cfg: Config, value: str, marker: str = "") -> list[Problem]:
    """A secret file: present, readable, not empty, and readable by its owner only (0600)."""
    missing = _present(key, cfg, value)
    if missing or not value:
        return missing
    path = cfg.path(value)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(key, "cannot_read", f"cannot read {path} ({exc})", path=str(path), detail=str(exc))]
    found = []
    if not text.strip() or marker not in text:
        what = marker or "secret"
        found.append(Problem(key, "secret_empty", f"{path} is empty or not a {what}", path=str(path), what=what))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        found.append(Problem(key, "secret_mode", f"{path} is readable by others (mode {mode:04o}): chmod 600 it",
                             path=str(path), mode=f"{mode:04o}"))
    return found
