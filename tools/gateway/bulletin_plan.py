"""Turns a bulletin (bulletin_read) into Loa protocol v1 commands: a plan of (target, cmd, args). Play now, or store
its audio and send each target the programme of every bulletin scheduled there (a `schedule` replaces a unit's whole
programme); e-board bulletins become `display`. Areas become group targets through a mapping given by the caller; the
province-wide area is one publish to the province group. Pure: must not import I/O modules.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.core.topics import Target
from tools.gateway.bulletin_read import BadBulletin, Bulletin, Timing, why

MAX_SLOTS = 200  # a unit's programme holds at most this many slots (protocol v1)
REF = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True)
class Media:
    url: str
    sha256: str


@dataclass(frozen=True)
class Step:
    target: Target
    cmd: str
    args: dict[str, Any]


def targets(b: Bulletin, areas: Mapping[str, str], wide: str) -> tuple[Target, ...]:
    """One group target per receiving area; just the province group when any area is the province, or when a
    relayed bulletin names no area (one publish reaches every unit)."""
    unknown = [a for a in b.areas if a not in areas]
    if unknown:
        raise BadBulletin(why(f"địa bàn chưa được gán: {', '.join(unknown)}", f"unknown areas: {', '.join(unknown)}"))
    groups = [areas[a] for a in b.areas]
    if wide in groups or (not groups and b.origin):
        return (Target("grp", wide),)
    if not groups:
        raise BadBulletin(why("bản tin không có địa bàn nhận", "the bulletin names no receiving area"))
    return tuple(Target("grp", g) for g in dict.fromkeys(groups))


def ref_id(bulletin_id: str) -> str:
    """The id the bulletin is stored under on units: readable when the HTTTN's id allows, else a digest."""
    name = f"htttn-{bulletin_id}"
    return name if REF.match(name) else "htttn-" + hashlib.sha256(bulletin_id.encode()).hexdigest()[:32]


def now_steps(b: Bulletin, to: Iterable[Target], media: Media | None, now_ms: int = 0) -> list[Step]:
    """Play now (audio, live) or show now (e-board). A live relay with a duration ends `now_ms` + that."""
    args = _display(b, media) if b.content in ("text", "image") else _play(b, media)
    if b.content == "live" and b.duration_s and now_ms:
        args["until"] = now_ms // 1000 + b.duration_s
    cmd = "display" if b.content in ("text", "image") else "play"
    return [Step(t, cmd, args) for t in to]


def _play(b: Bulletin, media: Media | None) -> dict[str, Any]:
    if b.content == "live":
        source: dict[str, Any] = {"stream": b.media_url}
    elif b.content == "audio" and media is not None:
        source = {"url": media.url, "sha256": media.sha256}
    else:
        raise BadBulletin(why(f"chưa hỗ trợ loại bản tin {b.content}", f"{b.content} bulletins are not supported"))
    args: dict[str, Any] = {"source": source, "priority": b.level, "bulletin": b.meta}
    return {**args, "title": b.title} if b.title else args


def _display(b: Bulletin, media: Media | None) -> dict[str, Any]:
    args: dict[str, Any] = {"priority": b.level, "bulletin": b.meta}
    if b.text:
        args["text"] = b.text[:1500]
    if b.content == "image" and media is not None:
        args["image"] = {"url": media.url, "sha256": media.sha256}
    if b.title:
        args["title"] = b.title
    return args


def store_step(b: Bulletin, target: Target, media: Media) -> Step:
    args = {"id": ref_id(b.id), "url": media.url, "sha256": media.sha256, "bulletin": b.meta}
    return Step(target, "store", {**args, "title": b.title} if b.title else args)


def slots(b: Bulletin, timing: Timing) -> list[dict[str, Any]]:
    """The programme slots of one bulletin: one per start time, each with its days or dates and date range."""
    live = b.content == "live"
    if live and not all(t.duration_s for t in timing.times):
        raise BadBulletin(why("tiếp sóng theo lịch cần thời điểm kết thúc", "a scheduled live relay needs end times"))
    out = []
    for t in timing.times:
        source = {"stream": b.media_url} if live else {"ref": ref_id(b.id)}
        slot: dict[str, Any] = {"kind": timing.kind, "at": t.at, "source": source}
        if timing.kind == "weekly":
            slot["days"] = list(timing.days)
        if timing.kind == "once":
            slot["dates"] = list(timing.dates)
        for key, value in (("from", timing.start_date), ("to", timing.end_date), ("duration_s", t.duration_s),
                           ("title", b.title)):
            if value:
                slot[key] = value
        out.append(slot)
    return out


def schedule_step(target: Target, version: int, programme: list[dict[str, Any]]) -> Step:
    """A target's whole programme (the slots of every bulletin scheduled there, in the order they came)."""
    if len(programme) > MAX_SLOTS:
        raise BadBulletin(why(f"lịch phát của {target.name} vượt {MAX_SLOTS} khung giờ",
                              f"the programme of {target.name} would exceed {MAX_SLOTS} slots"))
    return Step(target, "schedule", {"version": version, "slots": programme})


def plan(b: Bulletin, to: Iterable[Target], media: Media | None, others: Mapping[str, list[dict[str, Any]]],
         versions: Mapping[str, int], now_ms: int = 0) -> list[Step]:
    """Everything to send for a new bulletin. `others`: per target audience, the slots of the bulletins already
    scheduled there; `versions`: the programme version to send each target; `now_ms`: when (for a timed relay)."""
    if b.timing.now:
        return now_steps(b, to, media, now_ms)
    if media is None and b.content != "live":
        raise BadBulletin(why("lịch phát cần tệp âm thanh", "a scheduled bulletin needs an audio file"))
    steps = []
    for t in to:
        if media is not None:
            steps.append(store_step(b, t, media))
        steps.append(schedule_step(t, versions[t.audience], [*others.get(t.audience, []), *slots(b, b.timing)]))
    return steps
