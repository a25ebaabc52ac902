"""`loa logs` and `loa playlog`: ask units for their recent log lines or play logs and show them to staff.

Units send message keys and parameters; the text is made here, in the reader's language, from agent/strings.
Must not import the agent's runtime or adapters.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from agent import i18n
from agent.core.topics import Target
from agent.errors import ConfigError
from province.console import Console, json_object
from tools.table_out import Table

PLAYLOG_COLUMNS = ("dev", "jti", "title", "priority", "source_kind", "started", "ended", "duration_s", "result",
                   "relay_confirmed", "level_dbfs")
PLAYLOG_CODED = frozenset({"priority", "source_kind", "result"})
_SPAN = re.compile(r"^(\d+)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def since_ms(text: str | None, now_ms: int) -> int:
    """'30m', '2h', '1d' ago, or an ISO date-time; None means everything the unit kept."""
    if not text:
        return 0
    if m := _SPAN.match(text):
        return now_ms - int(m.group(1)) * _UNIT_S[m.group(2)] * 1000
    try:
        return int(datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        raise ConfigError(f"--since {text!r}: use 30m, 2h, 1d or a date like 2026-12-01T05:00") from None


def request(console: Console, key: Any, target: Target, args: dict[str, Any], wait_s: float,
            expected: int = 1) -> dict[str, list[dict[str, Any]]]:
    """Send a signed `logs` command; collect each answering unit's entries (device id -> entries)."""
    console.subscribe(console.topics.all_reports("logs"), console.topics.all_reports("ack"))
    jti = console.send(key, target, "logs", args)
    answers: dict[str, list[dict[str, Any]]] = {}
    deadline = time.monotonic() + wait_s
    for topic, payload, _ in console.messages(deadline):
        where = console.topics.device_of(topic)
        body = json_object(payload)
        if where and where[1] == "logs" and body.get("jti") == jti:
            answers[where[0]] = body.get("entries", [])
            if len(answers) >= expected:
                break
    return answers


def ask(console: Console, target: Target, query: dict[str, Any], wait_s: float,
        expected: int = 1) -> dict[str, list[dict[str, Any]]]:
    """The read-only log request (no key: staff credentials are enough); each answering unit's entries. A unit
    answers at most once per 10 s, so a request made just after another one may go unanswered."""
    console.subscribe(console.topics.all_reports("logs"))
    request_id = uuid.uuid4().hex
    console.publish(console.topics.log_request(target), json.dumps({"id": request_id, **query}))
    answers: dict[str, list[dict[str, Any]]] = {}
    for topic, payload, _ in console.messages(time.monotonic() + wait_s):
        where = console.topics.device_of(topic)
        body = json_object(payload)
        if where and where[1] == "logs" and body.get("request") == request_id:
            answers[where[0]] = body.get("entries", [])
            if len(answers) >= expected:
                break
    return answers


def render_line(entry: dict[str, Any], lang: str, tz: ZoneInfo) -> str:
    when = datetime.fromtimestamp(entry["ts"] / 1000, tz).strftime("%Y-%m-%d %H:%M:%S")
    level = i18n.render(lang, f"level_{entry.get('level', 'info')}", {}, package="tools.strings")
    return f"{when}  {level:<9} {i18n.render(lang, entry['key'], entry.get('params', {}))}"


def show_lines(entries: list[dict[str, Any]], lang: str, tz: ZoneInfo, grep: str | None,
               out: Callable[[str], None]) -> int:
    shown = 0
    for entry in entries:
        line = render_line(entry, lang, tz)
        if grep is None or grep.casefold() in line.casefold():
            out(line)
            shown += 1
    return shown


def as_json(entries: list[dict[str, Any]] | None, lang: str, tz: ZoneInfo, grep: str | None) -> dict[str, Any]:
    """`loa logs --json`: each line's key, parameters and level as the unit sent them, with its text and time;
    `answered` false when the unit was silent."""
    lines = [{**e, "time": datetime.fromtimestamp(e["ts"] / 1000, tz).isoformat(timespec="seconds"),
              "text": render_line(e, lang, tz)} for e in entries or []]
    return {"answered": entries is not None,
            "lines": [ln for ln in lines if grep is None or grep.casefold() in ln["text"].casefold()]}


def playlog_table(answers: dict[str, list[dict[str, Any]]], tz: ZoneInfo) -> Table:
    """One row per play of each answering unit (units in order), with its times in the reader's time zone."""
    rows = [{**e, "dev": dev, "started": _when(e.get("started_ts"), tz), "ended": _when(e.get("ended_ts"), tz)}
            for dev, entries in sorted(answers.items()) for e in entries]
    return Table("playlog", PLAYLOG_COLUMNS, rows, PLAYLOG_CODED)


def _when(ms: int | None, tz: ZoneInfo) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz)
