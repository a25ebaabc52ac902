"""What the gateway makes of the units' reports: pings only for live units, spread over the period; one log body per
broadcast, with the same key when a unit re-sends it; failed plays are not proof of broadcast."""

from __future__ import annotations

import json

from agent.core.topics import Topics
from tools.gateway import profile as profiles
from tools.gateway.south import South

TOPICS = Topics()
PROFILE = profiles.load(profiles.DEFAULT)
ONLINE = {"online": True, "dev": "u1", "role": "cluster", "ver": "1", "volume_pct": 50, "groups": ["province", "xa-1"],
          "heartbeat_s": 60}


def south() -> South:
    return South(PROFILE, TOPICS, ping_s=60, wide_groups=("province",))


def hear(s: South, dev: str, kind: str, report: dict[str, object], now_ms: int):
    return s.heard(TOPICS.report(dev, kind), json.dumps(report).encode(), now_ms)


def test_live_units_ping_once_a_period_and_dead_or_silent_ones_do_not():
    s = south()
    hear(s, "u1", "status", ONLINE, 0)
    hear(s, "u2", "status", {"online": False}, 0)
    pings = s.pings_due(60_000)
    assert [p.key for p in pings] == ["ping:u1"] and pings[0].body["DichID"] == "xa-1"
    assert s.pings_due(60_000) == []  # once per period
    assert s.pings_due(200_000) == []  # silent for more than three heartbeats: not connected
    hear(s, "u1", "hb", {"ts": 1, "up": 1, "ob": 0, "time": {}}, 200_000)
    assert [p.key for p in s.pings_due(260_000)] == ["ping:u1"]


def test_units_ping_at_spread_points_of_the_period():
    s = south()
    for n in range(200):
        hear(s, f"u{n}", "status", {**ONLINE, "dev": f"u{n}"}, 0)
    first_second = len(s.pings_due(1000))
    assert first_second < 20  # about 200/60 a second, not 200 at once


def test_a_broadcast_becomes_one_log_body_and_a_failed_play_none():
    s = south()
    hear(s, "u1", "status", ONLINE, 0)
    log = {"dev": "u1", "jti": "j1", "play_id": "j1", "title": "T", "priority": "normal", "source_kind": "url",
           "started_ts": 1, "ended_ts": 2, "duration_s": 1.0, "result": "completed"}
    first = hear(s, "u1", "playlog", log, 10)
    again = hear(s, "u1", "playlog", log, 20)
    assert first is not None and again is not None and first.key == again.key and first.kind == "bulletin_log"
    assert hear(s, "u1", "playlog", {**log, "play_id": "j2", "result": "failed", "started_ts": None}, 30) is None
    shown = hear(s, "u1", "displaylog", {"dev": "u1", "jti": "d1", "cmd": "display", "title": "Bảng", "content": "text",
                                         "priority": "normal", "mode": "page", "started_ts": 5, "ended_ts": 9,
                                         "duration_s": 4, "result": "completed"}, 40)
    assert shown is not None and shown.kind == "display_log" and shown.body["LoaiBanTin"] == 1
