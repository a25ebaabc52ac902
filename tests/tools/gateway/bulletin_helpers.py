"""Inbound bulletin bodies written in a profile's dialect: the tests name each part by Loa's name and each code by
Loa's value, and the profile decides the HTTTN's field names and codes (so every test runs in every dialect)."""

from __future__ import annotations

from typing import Any

from tools.gateway.profile import Profile

TIME_OF_DAY = "{:%H:%M:%S}.000000"  # the HTTTN's "HH:mm:ss.ffffff"


def code(profile: Profile, table: str, value: Any) -> Any:
    """The HTTTN's code for a Loa value (the first, when the profile lists several)."""
    codes = profile.maps[table][str(value)]
    return codes[0] if isinstance(codes, list) else codes


def date_text(profile: Profile, day: str) -> str:
    """A YYYY-MM-DD date written in the profile's first date format."""
    from datetime import date

    return date.fromisoformat(day).strftime(profile.inbound.bulletin_format.dates[0])


def bulletin_body(profile: Profile, **parts: Any) -> dict[str, Any]:
    """A body with each part at the profile's field; `areas` become objects with the id field when the profile
    reads them so; coded parts (priority, content_kind, mode, schedule_kind, origin) are given as Loa values."""
    fields = profile.inbound.bulletin
    assert fields is not None
    maps = {"priority": "priority", "content_kind": "content_kind", "mode": "play_mode",
            "schedule_kind": "schedule_kind", "origin": "origin"}
    body: dict[str, Any] = {}
    for name, value in parts.items():
        if name in maps:
            value = code(profile, maps[name], value)
        if name == "areas" and fields.area_id:
            value = [{fields.area_id: a} for a in value]
        if name in ("start_date", "end_date"):
            value = date_text(profile, value)
        where = fields.text[0] if name == "text" else getattr(fields, name)
        put(body, where, value)
    return body


def put(body: dict[str, Any], dotted: str, value: Any) -> None:
    *path, last = dotted.split(".")
    for step in path:
        body = body.setdefault(step, {})
    body[last] = value
