"""Reads an inbound bulletin body through the profile into Loa's terms: who it is for, how urgent, what it carries,
when it plays and the metadata its logs echo. Every field name and code comes from the profile ([inbound.bulletin],
[maps.*]). Pure: must not import I/O modules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from agent.errors import LoaError
from tools.gateway.bulletin_profile import BulletinFields
from tools.gateway.mapping import lookup
from tools.gateway.profile import Profile

AUDIO_KINDS = {"url": "audio", "tts": "audio", "ref": "audio", "alert": "audio", "stream": "live",
               "text": "text", "image": "image", "text+image": "image", "video": "video"}
LEVELS = ("emergency", "priority", "normal")
TIME = re.compile(r"^(?:.*[T ])?(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?$")
MONTHLY_HORIZON_DAYS = 366  # a monthly schedule without an end date is planned this far ahead (the unit's date cap)
LIMITS = {"id": 64, "title": 200, "field": 64, "summary": 1000, "source": 200, "produced_at": 40, "origin": 200}


class BadBulletin(LoaError, ValueError):
    """The body is not a bulletin the gateway can carry out; the text is the reason (Vietnamese / English)."""

    code = "bad_bulletin"


@dataclass(frozen=True)
class Time:
    at: str  # HH:MM:SS, local
    duration_s: int | None  # from its end time, when the HTTTN gives one


@dataclass(frozen=True)
class Timing:
    now: bool
    kind: str = "daily"  # Loa's slot kind: daily, weekly or once (a monthly schedule becomes once)
    days: tuple[int, ...] = ()  # ISO weekdays (weekly)
    dates: tuple[str, ...] = ()  # YYYY-MM-DD (once)
    start_date: str | None = None
    end_date: str | None = None
    times: tuple[Time, ...] = ()


@dataclass(frozen=True)
class Bulletin:
    id: str
    level: str  # normal, priority, emergency
    content: str  # audio, live, text, image, video
    media_url: str
    text: str
    title: str
    areas: tuple[str, ...]
    origin: str  # "" or Loa's name of where it was relayed from, e.g. central
    duration_s: int | None = None  # how long it lasts, as the HTTTN says (a live relay played now ends after it)
    meta: dict[str, Any] = field(default_factory=dict)  # the bulletin metadata of protocol v1
    timing: Timing = Timing(now=True)


def why(vi: str, en: str) -> str:
    return f"{vi} / {en}"


def read(profile: Profile, body: dict[str, Any]) -> Bulletin:
    """The bulletin in body; BadBulletin with the reason when it is not one."""
    f = _fields(profile)
    bid = _text(body, f.id)
    if not bid or len(bid) > LIMITS["id"]:
        raise BadBulletin(why(f"thiếu hoặc sai mã bản tin ({f.id})", f"missing or bad bulletin id ({f.id})"))
    level = _decoded(profile, "priority", body, f.priority, LEVELS) or "normal"
    kind = _decoded(profile, "content_kind", body, f.content_kind, tuple(AUDIO_KINDS)) or "url"
    content = AUDIO_KINDS[kind]
    origin = _decoded(profile, "origin", body, f.origin, tuple(profile.maps.get("origin", {}))) or ""
    b = Bulletin(id=bid, level=level, content=content, media_url=_text(body, f.media), text=_first(body, f.text),
                 title=_clip(_text(body, f.title), "title"), areas=_areas(body, f), origin=origin,
                 meta=_meta(body, f, bid, origin), timing=read_timing(profile, body, level),
                 duration_s=_whole(_text(body, f.duration_s)))
    _check_content(b, f)
    return b


def read_timing(profile: Profile, body: dict[str, Any], level: str) -> Timing:
    """When it plays: now (an emergency always), or the slots of its schedule."""
    f = _fields(profile)
    starts = _list(body, f.starts)
    mode = _decoded(profile, "play_mode", body, f.mode, ("now", "schedule")) or ("schedule" if starts else "now")
    if level == "emergency" or mode == "now":
        return Timing(now=True)
    if not starts:
        raise BadBulletin(why("lịch phát không có thời điểm bắt đầu", "the schedule has no start time"))
    first, last = _date(profile, body, f.start_date), _date(profile, body, f.end_date)
    if first and last and last < first:
        raise BadBulletin(why("ngày kết thúc trước ngày bắt đầu", "the end date is before the start date"))
    codes = _list(body, f.days)
    kind = _decoded(profile, "schedule_kind", body, f.schedule_kind, ("daily", "weekly", "monthly", "once"))
    kind = kind or ("weekly" if codes else "daily")
    times = _times(starts, _list(body, f.ends))
    plan = Timing(now=False, times=times, start_date=first.isoformat() if first else None,
                  end_date=last.isoformat() if last else None)
    if kind == "weekly":
        return replace(plan, kind="weekly", days=_weekdays(profile, codes))
    if kind == "daily":
        return plan
    dates = _monthly(codes, first, last) if kind == "monthly" else _once(codes, first)
    return replace(plan, kind="once", dates=dates)


def _fields(profile: Profile) -> BulletinFields:
    if profile.inbound.bulletin is None:
        raise BadBulletin(why("hồ sơ không khai báo bản tin chiều đến", "the profile has no [inbound.bulletin]"))
    return profile.inbound.bulletin


def decode(profile: Profile, name: str, code: Any, allowed: tuple[str, ...]) -> str | None:
    """The first Loa value (of those allowed) whose code in [maps.<name>] is code; None when none is."""
    for value, codes in profile.maps.get(name, {}).items():
        listed = codes if isinstance(codes, list) else [codes]
        if value in allowed and any(str(c) == str(code) for c in listed):
            return str(value)
    return None


def _decoded(profile: Profile, name: str, body: dict[str, Any], where: str, allowed: tuple[str, ...]) -> str | None:
    code = lookup(body, where) if where else None
    if code is None or code == "":
        return None
    value = decode(profile, name, code, allowed)
    if value is None and name != "origin":  # any other origin is simply not a relay
        raise BadBulletin(why(f"mã {code!r} của {where} không có trong bảng mã", f"{where}: unknown code {code!r}"))
    return value


def _text(body: dict[str, Any], where: str) -> str:
    value = lookup(body, where) if where else None
    return "" if value is None or isinstance(value, (dict, list)) else str(value).strip()


def _first(body: dict[str, Any], wheres: tuple[str, ...]) -> str:
    return next((t for t in (_text(body, w) for w in wheres) if t), "")


def _list(body: dict[str, Any], where: str) -> list[Any]:
    value = lookup(body, where) if where else None
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _whole(text: str) -> int | None:
    """A positive whole number of seconds, or None (a duration that is not one is information lost, not a refusal)."""
    try:
        value = round(float(text))
    except ValueError:
        return None
    return value if value > 0 else None


def _clip(text: str, name: str) -> str:
    limit = LIMITS[name]
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _areas(body: dict[str, Any], f: BulletinFields) -> tuple[str, ...]:
    out = []
    for item in _list(body, f.areas):
        area = lookup(item, f.area_id) if isinstance(item, dict) and f.area_id else item
        if not isinstance(area, (str, int)) or str(area).strip() == "":
            raise BadBulletin(why(f"địa bàn nhận không hợp lệ: {item!r}", f"bad receiving area: {item!r}"))
        out.append(str(area).strip())
    return tuple(dict.fromkeys(out))


def _meta(body: dict[str, Any], f: BulletinFields, bid: str, origin: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"id": bid}
    for name, where in (("title", f.title), ("field", f.subject), ("summary", f.summary), ("source", f.source),
                        ("produced_at", f.produced_at)):
        if text := _text(body, where):
            meta[name] = _clip(text, name)
    if author := _author(body, f):
        meta["author"] = author
    if origin:
        meta["origin"] = origin
    return meta


def _author(body: dict[str, Any], f: BulletinFields) -> dict[str, str]:
    parts = {k: _text(body, w)[:200] for k, w in (("name", f.author_name), ("pen_name", f.author_pen_name),
                                                   ("email", f.author_email))}
    author = {k: v for k, v in parts.items() if v}
    if not author and (name := _text(body, f.author)):
        author = {"name": name[:200]}
    return author


def _check_content(b: Bulletin, f: BulletinFields) -> None:
    if b.content == "text":
        if not b.text:
            raise BadBulletin(why("bản tin văn bản không có nội dung", "a text bulletin without text"))
    elif not re.match(r"^https?://", b.media_url):
        raise BadBulletin(why(f"thiếu đường dẫn nội dung http(s) ({f.media})", f"no http(s) media URL ({f.media})"))
    if b.content in ("text", "image", "video") and not b.timing.now:
        raise BadBulletin(why("bản tin hiển thị không có lịch phát", "an e-board bulletin cannot be scheduled"))


def _date(profile: Profile, body: dict[str, Any], where: str) -> date | None:
    text = _text(body, where)
    if not text:
        return None
    day = text.split("T")[0].split(" ")[0]
    for fmt in profile.inbound.bulletin_format.dates:
        try:
            return datetime.strptime(day, fmt).date()
        except ValueError:
            continue
    raise BadBulletin(why(f"ngày không hợp lệ ở {where}: {text!r}", f"{where}: not a date: {text!r}"))


def _seconds(value: Any) -> int:
    m = TIME.match(str(value).strip())
    if not m or int(m[1]) > 23 or int(m[2]) > 59 or int(m[3] or 0) > 59:
        raise BadBulletin(why(f"thời điểm không hợp lệ: {value!r}", f"not a time of day: {value!r}"))
    return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3] or 0)


def _times(starts: list[Any], ends: list[Any]) -> tuple[Time, ...]:
    out = []
    for i, start in enumerate(starts):
        s = _seconds(start)
        length = None
        if i < len(ends) and ends[i] not in (None, ""):
            length = (_seconds(ends[i]) - s) % 86400 or None
        out.append(Time(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}", length))
    return tuple(out)


def _weekdays(profile: Profile, codes: list[Any]) -> tuple[int, ...]:
    days = [decode(profile, "weekday", c, tuple(str(d) for d in range(1, 8))) for c in codes]
    if not days or None in days:
        raise BadBulletin(why(f"ngày trong tuần không hợp lệ: {codes!r}", f"bad weekdays: {codes!r}"))
    return tuple(sorted({int(d) for d in days if d}))


def _monthly(codes: list[Any], first: date | None, last: date | None) -> tuple[str, ...]:
    """Days of the month between the start and end dates, as one-off dates (the unit has no monthly kind)."""
    if not codes or not all(str(c).isdigit() and 1 <= int(c) <= 31 for c in codes):
        raise BadBulletin(why(f"ngày trong tháng không hợp lệ: {codes!r}", f"bad days of the month: {codes!r}"))
    if first is None:
        raise BadBulletin(why("lịch hàng tháng cần ngày bắt đầu", "a monthly schedule needs a start date"))
    end = min(last or date.max, first + timedelta(days=MONTHLY_HORIZON_DAYS - 1))
    wanted = {int(c) for c in codes}
    days = (first + timedelta(days=n) for n in range((end - first).days + 1))
    return tuple(d.isoformat() for d in days if d.day in wanted)


def _once(codes: list[Any], first: date | None) -> tuple[str, ...]:
    """One-off dates written yyyymmdd, or the start date alone."""
    if not codes:
        if first is None:
            raise BadBulletin(why("lịch một lần cần ngày phát", "a one-off schedule needs a date"))
        return (first.isoformat(),)
    try:
        return tuple(dict.fromkeys(datetime.strptime(str(c), "%Y%m%d").date().isoformat() for c in codes))
    except ValueError:
        raise BadBulletin(why(f"ngày phát không hợp lệ: {codes!r}", f"bad one-off dates: {codes!r}")) from None


def read_id(profile: Profile, body: dict[str, Any]) -> str:
    """The bulletin id a cancel or reschedule names."""
    f = _fields(profile)
    bid = _text(body, f.id)
    if not bid:
        raise BadBulletin(why(f"thiếu mã bản tin ({f.id})", f"missing bulletin id ({f.id})"))
    return bid


def from_dict(d: dict[str, Any]) -> Bulletin:
    """A bulletin as the registry keeps it (dataclasses.asdict) back."""
    t = d["timing"]
    timing = Timing(**{**t, "days": tuple(t["days"]), "dates": tuple(t["dates"]),
                       "times": tuple(Time(**x) for x in t["times"])})
    return Bulletin(**{**d, "areas": tuple(d["areas"]), "timing": timing})
