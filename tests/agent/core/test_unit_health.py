"""The unit's health in its status and heartbeat (what the province's HTTTN asks of a unit): location from
provisioning, the unit's sensors (temperature, mains, amplifier power, storage) and its link; which changes
republish the status. Every status and heartbeat is checked against its published schema."""

from __future__ import annotations

import json
from typing import Any

from agent.core.device import Device
from agent.core.effects import Effect, Publish
from agent.core.events import Telemetry, TimerFired, UnitReadings
from agent.core.schemas import validator
from tests.agent.core.device_helpers import T0, make_device

READINGS: dict[str, object] = {"temp_c": 48.3, "mains": True, "amp_w": 41.6, "storage_used_bytes": 1_000_000,
                               "storage_total_bytes": 8_000_000, "link_type": "cellular"}


def published(effects: list[Effect], kind: str) -> list[dict[str, Any]]:
    out = [json.loads(e.payload) for e in effects if isinstance(e, Publish) and e.topic.endswith("/" + kind)]
    for body in out:
        assert not list(validator("heartbeat" if kind == "hb" else kind).iter_errors(body)), body
    return out


def readings(device: Device, at: int, **changed: object) -> list[Effect]:
    return device.handle(UnitReadings(at, READINGS | changed))


def test_the_status_carries_location_health_and_link() -> None:
    d = make_device(location=(13.9876, 107.9543))
    d.handle(Telemetry(T0 + 10, {"signal_dbm": -71, "operator": "Viettel"}))
    status = published(readings(d, T0 + 2000), "status")[-1]
    assert status["location"] == {"lat": 13.9876, "lon": 107.9543}
    assert status["health"] == {"temp_c": 48.3, "mains": True, "amp_w": 41.6,
                                "storage": {"used_bytes": 1_000_000, "total_bytes": 8_000_000}}
    assert status["link"] == {"type": "cellular", "signal_dbm": -71}


def test_a_unit_without_sensors_or_location_reports_null() -> None:
    d = make_device()
    status = d.status(T0)
    assert status["location"] is None
    assert status["health"] == {"temp_c": None, "mains": None, "amp_w": None, "storage": None}
    assert status["link"] == {"type": None, "signal_dbm": None}
    assert not list(validator("status").iter_errors(status))


def test_a_configured_link_type_wins_over_the_route() -> None:
    d = make_device(link_type="ethernet")
    readings(d, T0 + 2000)
    assert d.status(T0 + 2000)["link"]["type"] == "ethernet"


def test_mains_and_link_changes_republish_the_status_temperature_does_not() -> None:
    d = make_device()
    readings(d, T0 + 2000)
    assert published(readings(d, T0 + 4000, temp_c=49.0, amp_w=12.0, storage_used_bytes=2_000_000), "status") == []
    lost = published(readings(d, T0 + 6000, mains=False), "status")
    assert [s["health"]["mains"] for s in lost] == [False]
    moved = published(readings(d, T0 + 8000, mains=False, link_type="wifi"), "status")
    assert [s["link"]["type"] for s in moved] == ["wifi"]


def test_the_heartbeat_carries_the_newest_readings() -> None:
    d = make_device(location=(13.9876, 107.9543))
    readings(d, T0 + 2000)
    readings(d, T0 + 3000, temp_c=55.5)
    hb = published(d.handle(TimerFired(T0 + 60_000, "hb")), "hb")[0]
    assert hb["health"]["temp_c"] == 55.5 and hb["link"]["type"] == "cellular"
    assert hb["location"] == {"lat": 13.9876, "lon": 107.9543}


def test_a_heartbeat_without_location_leaves_it_out() -> None:
    d = make_device()
    hb = published(d.handle(TimerFired(T0 + 60_000, "hb")), "hb")[0]
    assert "location" not in hb and hb["health"]["mains"] is None
