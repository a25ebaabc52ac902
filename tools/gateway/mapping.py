"""Builds the HTTTN's bodies from what a unit reported, through the profile: which field, from where, which code.

Sources: `profile.<identity key>`, `unit.<fact>` (the few facts computed below), `status.<path>`, `hb.<path>` and
`log.<path>` (the play or display log). A source that is absent leaves its field out, so fields a newer unit adds
fill in without a release. Pure: must not import I/O modules.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tools.gateway.profile import Profile

Context = dict[str, Any]


def context(profile: Profile, dev: str, area: str, status: dict[str, Any], hb: dict[str, Any],
            log: dict[str, Any] | None = None) -> Context:
    """Everything a body may draw from, for one unit (and one of its logs)."""
    return {"profile": dataclasses.asdict(profile.identity), "unit": unit_facts(profile, dev, area, status, hb),
            "status": status, "hb": hb, "log": log or {}}


def unit_facts(profile: Profile, dev: str, area: str, status: dict[str, Any], hb: dict[str, Any]) -> dict[str, Any]:
    eboard = status.get("role") == "eboard"
    kind = profile.identity.eboard_kind if eboard else profile.identity.cluster_kind
    return {"id": dev, "area": area, "kind": kind, "activity": _activity(status), "link": _link(status, hb)}


def _activity(status: dict[str, Any]) -> str:
    """playing while a bulletin sounds or an e-board shows one, else stopped (the profile's activity map codes it)."""
    showing = (status.get("board") or {}).get("showing")
    return "playing" if status.get("playing") or showing else "stopped"


def _link(status: dict[str, Any], hb: dict[str, Any]) -> str | None:
    """The link as the HTTTN writes it ("4G,-71dBm", "Ethernet"): the unit's link type where it reports one."""
    link: dict[str, Any] = status["link"] if isinstance(status.get("link"), dict) else {}
    signal = hb.get("sig", (status.get("modem") or {}).get("signal_dbm"))
    kind = link.get("type") or ("4G" if signal is not None else None)
    if kind is None:
        return None
    return f"{kind},{signal}dBm" if signal is not None else str(kind)


def body(profile: Profile, name: str, ctx: Context) -> dict[str, Any]:
    """The named body (ping, bulletin_log, display_log) with every field whose source has a value."""
    out: dict[str, Any] = {}
    for field, spec in profile.bodies[name].items():
        value = _value(profile, spec, ctx)
        if value is not None:
            _put(out, field.split("."), value)
    return out


def _value(profile: Profile, spec: Any, ctx: Context) -> Any:
    if isinstance(spec, str):
        return lookup(ctx, spec)
    if "value" in spec:
        return spec["value"]
    sources = spec["from"] if isinstance(spec["from"], list) else [spec["from"]]
    value = next((v for v in (lookup(ctx, s) for s in sources) if v is not None), None)
    if value is not None and spec.get("map"):
        value = profile.maps[spec["map"]].get(_key(value))
    return convert(profile, spec.get("as", ""), value)


def lookup(ctx: Context, source: str) -> Any:
    """The value at a dotted path, or None where any step is missing."""
    value: Any = ctx
    for step in source.split("."):
        value = value.get(step) if isinstance(value, dict) else None
    return value


def _key(value: Any) -> str:
    """A TOML map's key for a value: true/false for booleans, the text otherwise."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def convert(profile: Profile, how: str, value: Any) -> Any:
    """A report is data from the field: a value that does not convert leaves its field out rather than stop the
    gateway."""
    if value is None or not how:
        return value
    try:
        if how == "int":
            return round(float(value))
        zone = ZoneInfo(profile.http.time_zone)
        return datetime.fromtimestamp(int(value) / 1000, zone).strftime(profile.http.time_format)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _put(out: dict[str, Any], path: list[str], value: Any) -> None:
    for step in path[:-1]:
        out = out.setdefault(step, {})
    out[path[-1]] = value
