"""The HTTTN dialect as data: paths, login, reply shape, the fields of each body and the value maps (a TOML profile).

A body's fields map an HTTTN field name (dotted for nesting, e.g. "ThongTinThietBi.NhietDo") to where its value
comes from (see mapping.py). Must not import the gateway's I/O modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.config.engine import Problem, Problems, build, checked, non_empty, read_toml, unknown_keys
from agent.errors import ConfigError
from tools.gateway import bulletin_profile, inbound_profile
from tools.gateway.bulletin_profile import Inbound
from tools.gateway.inbound_profile import InboundProfile

DEFAULT = Path(__file__).with_name("profiles") / "default.toml"
BODIES = ("ping", "bulletin_log", "display_log", "schedule_log")
STATUS_REPLY = "status_reply"  # a body built like the others, sent back in a reply rather than posted
CONVERSIONS = ("time", "int")  # ms since the epoch -> the profile's local time text; a number -> a whole number


@dataclass(frozen=True)
class Identity:
    """Who the gateway is inside the HTTTN (NguonID, TenNguon, MaNhaCungCap...)."""

    source_id: str = field(metadata=checked(non_empty))
    source_name: str = ""
    supplier_code: str = ""
    supplier_name: str = ""
    cluster_kind: str = "Cụm loa truyền thanh"
    eboard_kind: str = "Bảng tin điện tử công cộng"


@dataclass(frozen=True)
class Http:
    """Where the HTTTN is and how it says yes: a reply is accepted when status_field holds ok_value."""

    base_url: str = field(metadata=checked(non_empty))
    login_path: str = field(metadata=checked(non_empty))
    ping_path: str = field(metadata=checked(non_empty))
    bulletin_log_path: str = field(metadata=checked(non_empty))
    display_log_path: str = field(metadata=checked(non_empty))
    schedule_log_path: str = field(metadata=checked(non_empty))
    status_field: str = "TrangThaiGui"
    ok_value: int = 0
    reason_field: str = "MoTa"
    timeout_s: float = 10.0
    time_zone: str = "Asia/Ho_Chi_Minh"
    time_format: str = "%Y-%m-%dT%H:%M:%S%z"


@dataclass(frozen=True)
class Login:
    """The login body's field names, where the token is in the reply, how long it lasts, and whether each cluster
    logs in with its own credentials."""

    username_field: str = "Username"
    password_field: str = "Password"
    token_field: str = "NoiDung.Token"
    token_lifetime_s: int = 3600
    header: str = "Authorization"
    scheme: str = "Bearer"
    per_cluster: bool = False


@dataclass(frozen=True)
class Emulated:
    """What the emulator reads from a ping to count a cluster (its id and area fields) and how fresh "connected" is."""

    cluster_field: str = "CumLoaID"
    area_field: str = "DichID"
    area_name_field: str = "TenDich"
    connected_within_s: int = 180


@dataclass(frozen=True)
class Profile:
    identity: Identity
    http: Http
    login: Login
    emulated: Emulated
    bodies: dict[str, dict[str, Any]]  # body name -> HTTTN field -> source spec
    results: tuple[str, ...]  # the play/display log results that count as a broadcast (sent north)
    maps: dict[str, dict[str, Any]]  # map name -> Loa value -> HTTTN value
    inbound: Inbound  # the bulletin operations' part of [inbound] ([inbound.bulletin], bulletin_format)
    api: InboundProfile = field(default_factory=InboundProfile)  # the HTTTN's calls to the gateway ([inbound])

    def path(self, body: str) -> str:
        return {"ping": self.http.ping_path, "bulletin_log": self.http.bulletin_log_path,
                "display_log": self.http.display_log_path, "schedule_log": self.http.schedule_log_path}[body]


def load(path: Path) -> Profile:
    """The profile at path; ConfigError listing every problem with its key."""
    table = read_toml(path, "HTTTN profile")
    problems = Problems()
    unknown_keys(table, ["identity", "http", "login", "emulated", "maps", "inbound", *BODIES], "", problems)
    sections = {name: build(cls, table.get(name, {}), name, problems)
                for name, cls in (("identity", Identity), ("http", Http), ("login", Login), ("emulated", Emulated))}
    maps = _tables(table.get("maps", {}), "maps", problems)
    bodies = {name: _body(table.get(name), name, maps, problems) for name in BODIES}
    results = table.get("bulletin_log", {}).get("results", ["completed", "preempted", "stopped"])
    inbound = bulletin_profile.load(table.get("inbound", {}), maps, problems)
    api = inbound_profile.parse(table.get("inbound", {}), maps, problems)
    bodies[STATUS_REPLY] = _status_reply(api.status_reply, maps, problems)
    if problems:
        raise ConfigError(f"{path}:\n" + "\n".join(problems))
    return Profile(bodies=bodies, maps=maps, results=tuple(results), inbound=inbound, api=api,
                   **sections)  # type: ignore[arg-type]


def _status_reply(fields: dict[str, Any], maps: dict[str, dict[str, Any]], problems: Problems) -> dict[str, Any]:
    """The answer to a status query (API8) is built like a ping, from what the unit last said."""
    for name, spec in fields.items():
        if why := _spec_problem(spec, maps):
            problems.append(Problem(f"inbound.status_reply.{name}", "value", why))
    return fields


def _tables(value: Any, where: str, problems: Problems) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        problems.append(Problem(where, "not_a_table", "must be a table of tables"))
        return {}
    return value


def _body(value: Any, where: str, maps: dict[str, dict[str, Any]], problems: Problems) -> dict[str, Any]:
    """A body's `fields` table; each spec is a source string or {from, map} / {value}."""
    fields = value.get("fields") if isinstance(value, dict) else None
    if isinstance(value, dict):
        unknown_keys(value, ["fields", "results"], f"{where}.", problems)
    if not isinstance(fields, dict) or not fields:
        problems.append(Problem(f"{where}.fields", "missing", "a body needs a [fields] table"))
        return {}
    for name, spec in fields.items():
        if why := _spec_problem(spec, maps):
            problems.append(Problem(f"{where}.fields.{name}", "value", why))
    return fields


def _spec_problem(spec: Any, maps: dict[str, dict[str, Any]]) -> str | None:
    if isinstance(spec, str):
        return None if "." in spec else f"a source looks like 'status.volume_pct' (got {spec!r})"
    if isinstance(spec, dict) and set(spec) == {"value"}:
        return None
    if not isinstance(spec, dict) or not set(spec) <= {"from", "map", "as"} or "from" not in spec:
        return "must be a source string, {from = '...', map = '...', as = '...'} or {value = ...}"
    sources = spec["from"] if isinstance(spec["from"], list) else [spec["from"]]
    if not sources or not all(isinstance(s, str) and "." in s for s in sources):
        return "from: a source such as 'log.title', or a list of them tried in order"
    if spec.get("as", "time") not in CONVERSIONS:
        return f"as: one of {', '.join(CONVERSIONS)}"
    return None if spec.get("map", "") in ("", *maps) else f"no map named {spec['map']!r} in [maps]"
