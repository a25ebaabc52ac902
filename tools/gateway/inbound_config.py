"""gateway.toml's inbound part: where the inbound API listens (TLS, client CA), who may call it (each credential a
name, a token file, granted levels and areas), its rate limits, the audit log, the gateway's signing key and the map
from HTTTN areas to Loa groups. Built by the agent's one TOML -> dataclass engine. Must not open sockets or files
beyond reading the token files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.config.engine import Problem, Problems, between, build, checked, non_empty
from agent.core.scopes import BULLETIN_LEVELS

GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Listen:
    host: str = "127.0.0.1"
    port: int = field(default=8443, metadata=checked(between(0, 65535)))
    cert: str = ""  # TLS certificate and key: without them the API is plain HTTP (a lab, or behind a TLS proxy)
    key: str = ""
    client_ca: str = ""  # given: every caller must present a certificate from this CA
    audit: str = "gateway-audit.jsonl"  # JSON lines, rotated
    audit_max_bytes: int = field(default=10_000_000, metadata=checked(between(10_000, 10**10)))
    audit_keep: int = field(default=5, metadata=checked(between(1, 100)))
    registry: str = "gateway-registry.sqlite"  # clusters the HTTTN registered and the areas it assigned
    rate_per_min: float = field(default=120.0, metadata=checked(between(0.1, 100_000)))
    burst: int = field(default=30, metadata=checked(between(1, 10_000)))
    emergency_per_hour: float = field(default=6.0, metadata=checked(between(0.1, 3600)))
    emergency_burst: int = field(default=2, metadata=checked(between(1, 100)))
    max_body_bytes: int = field(default=1_000_000, metadata=checked(between(1000, 100_000_000)))


@dataclass(frozen=True)
class Client:
    """One inbound credential. The token lives in its own file (mode 0600), never in gateway.toml."""

    token_file: str = ""
    cert_name: str = ""  # the common name of its client certificate, where [inbound] client_ca is set
    levels: tuple[str, ...] = ("normal", "priority")
    areas: tuple[str, ...] = ()  # HTTTN area ids it may address; empty: every area


@dataclass(frozen=True)
class Credential:
    name: str
    token: str = field(repr=False)
    cert_name: str
    levels: frozenset[str]
    areas: frozenset[str]


@dataclass(frozen=True)
class Signing:
    key: str = field(metadata=checked(non_empty))  # the gateway's own scoped key: `loa keys gateway DIR NAME`
    lifetime_s: int = field(default=300, metadata=checked(between(10, 3600)))
    issuer: str = "province"


@dataclass(frozen=True)
class Inbound:
    listen: Listen
    credentials: tuple[Credential, ...]
    signing: Signing
    areas: dict[str, str]  # HTTTN area id -> Loa group (an area not listed is the group of the same name)


def load(table: dict[str, Any], here: Path, problems: Problems) -> Inbound | None:
    """The inbound API's settings, or None when gateway.toml has no [inbound] (the outbound gateway alone)."""
    if "inbound" not in table:
        return None
    raw = dict(table["inbound"]) if isinstance(table["inbound"], dict) else {}
    clients = raw.pop("clients", {})
    listen = build(Listen, raw, "inbound", problems)
    signing = build(Signing, table.get("signing", {}), "signing", problems)
    credentials = _credentials(clients, here, problems)
    areas = _areas(table.get("areas", {}), problems)
    if listen is None or signing is None:
        return None
    files = {k: str((here / v).resolve()) for k in ("cert", "key", "client_ca", "audit", "registry")
             if (v := getattr(listen, k))}
    listen = Listen(**{**listen.__dict__, **files})
    return Inbound(listen, credentials, Signing(**{**signing.__dict__, "key": str((here / signing.key).resolve())}),
                   areas)


def _credentials(clients: Any, here: Path, problems: Problems) -> tuple[Credential, ...]:
    if not isinstance(clients, dict) or not clients:
        problems.append(Problem("inbound.clients", "missing", "name at least one caller: [inbound.clients.<name>]"))
        return ()
    out = []
    for name, entry in clients.items():
        where = f"inbound.clients.{name}"
        client = build(Client, entry, where, problems)
        if client is None:
            continue
        if not set(client.levels) <= set(BULLETIN_LEVELS):
            problems.append(Problem(f"{where}.levels", "value", f"levels are {', '.join(BULLETIN_LEVELS)}"))
        if not client.token_file and not client.cert_name:
            problems.append(Problem(where, "missing", "a caller needs a token_file or a cert_name"))
        token = _token(here, client.token_file, where, problems) if client.token_file else ""
        out.append(Credential(name, token, client.cert_name, frozenset(client.levels), frozenset(client.areas)))
    return tuple(out)


def _token(here: Path, file: str, where: str, problems: Problems) -> str:
    """A token shorter than 16 characters is refused: it could be guessed."""
    try:
        token = (here / file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        problems.append(Problem(f"{where}.token_file", "value", f"cannot read {file}: {exc.strerror}"))
        return ""
    if len(token) < 16:
        problems.append(Problem(f"{where}.token_file", "value", "the token must have at least 16 characters"))
    return token


def _areas(value: Any, problems: Problems) -> dict[str, str]:
    if not isinstance(value, dict):
        problems.append(Problem("areas", "not_a_table", "must be a table of HTTTN area id = Loa group"))
        return {}
    for area, group in value.items():
        if not isinstance(group, str) or not GROUP.fullmatch(group):
            problems.append(Problem(f"areas.{area}", "value", f"a Loa group name (got {group!r})"))
    return {str(k): str(v) for k, v in value.items()}
