"""gateway.toml: which HTTTN and profile, which broker identity, the outbox and the pace. Built by the agent's one
TOML -> dataclass engine; every problem is reported at once, passwords only by file. Must not open connections."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from agent.config.engine import Problem, Problems, between, build, checked, non_empty, read_toml, unknown_keys
from agent.errors import ConfigError
from province.console import BrokerAccess
from tools.gateway import inbound_config
from tools.gateway import profile as profiles
from tools.gateway.inbound_config import Inbound


@dataclass(frozen=True)
class Htttn:
    profile: str = ""  # default: the bundled profiles/default.toml
    url: str = ""  # overrides the profile's base_url
    username: str = ""
    password_file: str = ""
    clusters_file: str = ""  # per-cluster credentials, [<unit id>] username/password, when clusters log in


@dataclass(frozen=True)
class Broker:
    url: str = field(metadata=checked(non_empty))
    username: str = ""
    password_file: str = ""
    ca: str = ""
    cert: str = ""
    key: str = ""
    client_id: str = "loa-gateway"
    prefix: str = "loa/v1"


@dataclass(frozen=True)
class Pace:
    outbox: str = "gateway-outbox.sqlite"
    ping_s: int = field(default=60, metadata=checked(between(1, 3600)))
    concurrency: int = field(default=16, metadata=checked(between(1, 256)))
    backoff_base_s: float = field(default=1.0, metadata=checked(between(0.01, 60)))
    backoff_cap_s: float = field(default=300.0, metadata=checked(between(0.1, 3600)))
    wide_groups: tuple[str, ...] = ("province",)  # the first is the province group (a province-wide bulletin)
    media_max_mb: int = field(default=64, metadata=checked(between(1, 2048)))  # an HTTTN media file, fetched to hash
    media_timeout_s: float = field(default=30.0, metadata=checked(between(1, 600)))


@dataclass(frozen=True)
class Config:
    htttn: Htttn
    broker: Broker
    gateway: Pace
    profile: profiles.Profile
    base_url: str
    credentials: dict[str, tuple[str, str]]
    inbound: Inbound | None = None  # the inbound API, when gateway.toml has [inbound]

    def access(self) -> BrokerAccess:
        b = self.broker
        return BrokerAccess(b.url, b.username, _secret(b.password_file), b.ca, b.cert, b.key)


def load(path: Path) -> Config:
    table = read_toml(path, "gateway config")
    problems = Problems()
    unknown_keys(table, ["htttn", "broker", "gateway", "inbound", "signing", "areas"], "", problems)
    htttn = build(Htttn, table.get("htttn", {}), "htttn", problems)
    broker = build(Broker, table.get("broker", {}), "broker", problems)
    pace = build(Pace, table.get("gateway", {}), "gateway", problems)
    inbound = inbound_config.load(table, path.parent, problems)
    if problems or htttn is None or broker is None or pace is None:
        raise ConfigError(f"{path}:\n" + "\n".join(problems))
    here = path.parent
    profile = profiles.load(_at(here, htttn.profile) if htttn.profile else profiles.DEFAULT)
    creds = _credentials(here, htttn, profile.login.per_cluster, problems)
    if inbound and not profile.api.paths:
        problems.append(Problem("inbound", "value", "the profile has no [inbound.paths]: nothing to serve"))
    if problems:
        raise ConfigError(f"{path}:\n" + "\n".join(problems))
    broker = Broker(**{**broker.__dict__, **{k: str(_at(here, v)) for k in ("password_file", "ca", "cert", "key")
                                              if (v := getattr(broker, k))}})
    pace = Pace(**{**pace.__dict__, "outbox": str(_at(here, pace.outbox))})
    return Config(htttn, broker, pace, profile, htttn.url or profile.http.base_url, creds, inbound)


def _credentials(here: Path, htttn: Htttn, per_cluster: bool, problems: Problems) -> dict[str, tuple[str, str]]:
    """The gateway's own login (""), and each cluster's where the profile says clusters log in themselves."""
    creds: dict[str, tuple[str, str]] = {}
    if htttn.username:
        creds[""] = (htttn.username, _secret(str(_at(here, htttn.password_file))) if htttn.password_file else "")
    elif not per_cluster:
        problems.append(Problem("htttn.username", "missing", "the gateway needs an HTTTN login"))
    if per_cluster:
        if not htttn.clusters_file:
            problems.append(Problem("htttn.clusters_file", "missing", "the profile says each cluster logs in"))
            return creds
        for dev, entry in _clusters(_at(here, htttn.clusters_file), problems).items():
            creds[dev] = (str(entry.get("username", dev)), str(entry.get("password", "")))
    return creds


def _clusters(path: Path, problems: Problems) -> dict[str, dict[str, str]]:
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        problems.append(Problem("htttn.clusters_file", "value", f"cannot read {path}: {exc}"))
        return {}
    return {k: v for k, v in table.items() if isinstance(v, dict)}


def _at(here: Path, value: str) -> Path:
    return (here / value).resolve()


def _secret(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip() if path else ""
    except OSError as exc:
        raise ConfigError(f"cannot read the password file {path}: {exc.strerror}") from None
