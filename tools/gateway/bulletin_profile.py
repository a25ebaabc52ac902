"""The profile's `[inbound.bulletin]` table: where each part of an inbound bulletin is in the HTTTN's body (a dotted
field name per Loa name; a list tries each in order), and how its dates are written. Read by profile.load; must not
import the gateway's I/O modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.config.engine import Problem, Problems, build, checked, non_empty

# The value maps a bulletin is read through ([maps.<name>]: Loa value -> the HTTTN's code, or a list of codes).
MAPS = ("priority", "content_kind", "play_mode", "schedule_kind", "weekday", "origin")


@dataclass(frozen=True)
class BulletinFields:
    """Loa name -> the HTTTN's field (dotted for nesting); "" where the dialect has no such field."""

    id: str = field(metadata=checked(non_empty))
    areas: str = ""  # a list of area ids, or of objects whose `area_id` field holds the id
    area_id: str = ""
    priority: str = ""
    content_kind: str = ""
    mode: str = ""  # play now or by schedule ([maps.play_mode])
    start_date: str = ""
    end_date: str = ""
    starts: str = ""  # a list of start times of day
    ends: str = ""  # the matching end times (optional)
    schedule_kind: str = ""  # [maps.schedule_kind]: daily, weekly, monthly, once
    days: str = ""  # weekdays ([maps.weekday]), days of the month, or one-off dates as yyyymmdd
    title: str = ""
    subject: str = ""  # the subject field, as the HTTTN codes it
    summary: str = ""
    produced_at: str = ""
    duration_s: str = ""
    author: str = ""  # a plain name, or an object read through the three below
    author_name: str = ""
    author_pen_name: str = ""
    author_email: str = ""
    source: str = ""
    media: str = ""  # the media URL (audio, image, stream)
    text: tuple[str, ...] = ()  # an e-board's text: the first of these fields that has one
    origin: str = ""  # what marks a bulletin relayed from elsewhere ([maps.origin])


@dataclass(frozen=True)
class BulletinFormat:
    """How the HTTTN writes dates (tried in order; a time of day after the date is ignored)."""

    dates: tuple[str, ...] = ("%Y-%m-%d", "%d/%m/%Y")


@dataclass(frozen=True)
class Inbound:
    bulletin: BulletinFields | None
    bulletin_format: BulletinFormat
    raw: dict[str, Any]  # the whole [inbound] table, for the parts other modules read


def load(table: Any, maps: dict[str, dict[str, Any]], problems: Problems) -> Inbound:
    """The [inbound] table's bulletin parts; a profile without [inbound.bulletin] takes no bulletins."""
    if not isinstance(table, dict):
        problems.append(Problem("inbound", "not_a_table", "must be a table"))
        return Inbound(None, BulletinFormat(), {})
    fields = None
    if "bulletin" in table:
        fields = build(BulletinFields, _listed(table["bulletin"]), "inbound.bulletin", problems)
        missing = [m for m in MAPS if m not in maps]
        if missing:
            problems.append(Problem("maps", "missing", f"[inbound.bulletin] reads through maps {', '.join(missing)}"))
    fmt = build(BulletinFormat, table.get("bulletin_format", {}), "inbound.bulletin_format", problems)
    return Inbound(fields, fmt or BulletinFormat(), table)


def _listed(value: Any) -> Any:
    """`text` may be one field or a list of them."""
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return {**value, "text": [value["text"]]}
    return value
