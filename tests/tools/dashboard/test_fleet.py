"""The dashboard's fleet view from reports: communes from the units' groups, online/offline from status and last
will, faults from `errors` and from the health sensors, what plays now, the last plays, and nothing from a report
that is not a JSON object."""

from __future__ import annotations

import json
from typing import Any

from tools.dashboard.fleet import Fleet, faults
from tools.dashboard.page import accepted, language


def status(dev: str, commune: str, **fields: Any) -> bytes:
    base = {"online": True, "dev": dev, "groups": [commune, "province"], "errors": [], "relays": {"1": False},
            "location": {"lat": 13.98, "lon": 107.95}, "health": {"temp_c": 48.0, "mains": True, "amp_w": None},
            "playing": None}
    return json.dumps({**base, **fields}).encode()


def unit(fleet: Fleet, dev: str) -> dict[str, Any]:
    return next(u for u in view(fleet)["units"] if u["dev"] == dev)


def view(fleet: Fleet) -> dict[str, Any]:
    fleet.publish()
    assert json.loads(fleet.view_json) == fleet.view
    return fleet.view


def test_communes_count_units_online_and_offline() -> None:
    fleet = Fleet()
    fleet.take("a1", "status", status("a1", "xa-a"), 1000)
    fleet.take("a2", "status", status("a2", "xa-a"), 1000)
    fleet.take("b1", "status", status("b1", "xa-b"), 1000)
    fleet.take("a2", "status", b'{"online": false}', 2000)
    communes = {c["name"]: c for c in view(fleet)["communes"]}
    assert communes["xa-a"] == {"name": "xa-a", "online": ["a1"], "offline": ["a2"]}
    assert communes["xa-b"]["online"] == ["b1"]
    gone = unit(fleet, "a2")
    assert gone["online"] is False and gone["location"] == {"lat": 13.98, "lon": 107.95} and gone["seen_ms"] == 2000


def test_faults_come_from_errors_and_from_the_sensors() -> None:
    assert faults({"errors": ["relay", "coproc"]}) == ["relay", "coproc"]
    assert faults({"health": {"temp_c": 81.5}}) == ["hot"]
    assert faults({"health": {"temp_c": 81.5}}, hot_c=90) == []
    assert faults({"health": {"mains": False}}) == ["mains_off"]
    assert faults({"health": {"amp_w": 0.2}, "relays": {"1": True}}) == ["amp_silent"]
    assert faults({"health": {"amp_w": 0.2}, "relays": {"1": False}}) == []  # an idle amplifier draws nothing
    assert faults({"health": {"temp_c": None, "mains": None, "amp_w": None}}) == []


def test_a_heartbeat_updates_health_and_brings_a_unit_back_online() -> None:
    fleet = Fleet()
    fleet.take("a1", "status", status("a1", "xa-a"), 1000)
    fleet.take("a1", "status", b'{"online": false}', 2000)
    fleet.take("a1", "hb", json.dumps({"ts": 5, "health": {"temp_c": 90.0, "mains": False}}).encode(), 3000)
    row = unit(fleet, "a1")
    assert row["online"] is True and row["faults"] == ["hot", "mains_off"] and row["commune"] == "xa-a"


def test_what_plays_now_and_the_last_plays_newest_first() -> None:
    fleet = Fleet()
    playing = {"jti": "j1", "title": "Phòng chống bão số 9", "priority": "emergency"}
    fleet.take("a1", "status", status("a1", "xa-a", playing=playing), 1000)
    assert view(fleet)["playing"] == [{"dev": "a1", "commune": "xa-a", "title": "Phòng chống bão số 9",
                                      "priority": "emergency"}]
    for n in (1, 2):
        record = {"dev": "a1", "title": f"bản tin {n}", "priority": "normal", "result": "completed",
                  "ended_ts": n, "duration_s": 1.5, "bulletin": {"id": "x"}}
        fleet.take("a1", "playlog", json.dumps(record).encode(), 2000 + n)
    assert [p["title"] for p in view(fleet)["plays"]] == ["bản tin 2", "bản tin 1"]
    assert "bulletin" not in view(fleet)["plays"][0]
    fleet.take("a1", "status", b'{"online": false}', 4000)
    assert view(fleet)["playing"] == []


def test_the_view_is_built_once_per_publish_and_only_after_a_change() -> None:
    fleet = Fleet()
    assert fleet.publish() is False and fleet.version == 0
    for n in range(50):
        fleet.take(f"u{n}", "status", status(f"u{n}", "xa-a"), 1000)
    assert fleet.view["units"] == []  # not yet published
    assert fleet.publish() is True and fleet.version == 1 and len(fleet.view["units"]) == 50
    assert fleet.publish() is False and fleet.version == 1


def test_reports_that_are_not_json_objects_change_nothing_but_the_version() -> None:
    fleet = Fleet()
    fleet.take("a1", "hb", b"not json", 1000)
    fleet.take("a1", "playlog", b"[1, 2]", 1000)
    assert view(fleet)["units"] == [] and view(fleet)["plays"] == []
    fleet.take("a1", "status", status("a1", "xa-a", location={"lat": 200, "lon": "x"}), 1000)
    assert unit(fleet, "a1")["location"] is None


def test_the_page_language_from_the_query_the_cookie_or_accept_language() -> None:
    assert accepted("vi-VN,vi;q=0.9,en;q=0.8") == "vi"
    assert accepted("fr-FR, en;q=0.5, vi;q=0.4") == "en"
    assert accepted("fr, de;q=0.5") == "" and accepted("vi;q=0, en;q=bad") == ""
    assert language("en", "vi", "vi", "vi") == "en"
    assert language("", "en", "vi", "vi") == "en"
    assert language("xx", "", "en-US", "vi") == "en"
    assert language("", "", "", "vi") == "vi"
