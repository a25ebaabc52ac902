"""Bulletins from the HTTTN on a real unit: the bulletin operations sign through a real console on the session's
Mosquitto, the media is served over real HTTP, and a real agent process plays it. A scheduled bulletin plays at its
slot with its metadata in the play log, and cancel ends it while it sounds; an emergency plays at once and cancel
stops it by its command; a bulletin relayed from the central HTTTN reaches a province through one publish, its origin
in every play log and bulletin log."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent.core.topics import Target
from province.console import Console
from province.keys import load_signing
from tests.agent.adapters.audio.sound_helpers import encode, make_tone_wav
from tests.conftest import Broker
from tests.e2e.link_helpers import UnitWatch
from tests.e2e.sound_helpers import FAST_POWER
from tests.tools.gateway.bulletin_helpers import TIME_OF_DAY, bulletin_body
from tools.gateway import profile as profiles
from tools.gateway.bulletin_registry import Registry
from tools.gateway.bulletins import Bulletins
from tools.gateway.inbound_api import Caller, InboundCall, Reply
from tools.gateway.mapping import body as build_body
from tools.gateway.mapping import context
from tools.gateway.outbox import Outbox

SLOT_LEAD_S = 8  # room for the store and schedule to reach the unit before the slot
CALLER = Caller("htttn", "cb-01", frozenset({"normal", "priority", "emergency"}), frozenset())


class ConsoleSender:
    def __init__(self, console: Console, key: Any) -> None:
        self.console, self.key = console, key

    def send(self, target: Target, cmd: str, args: dict[str, Any], **sign: Any) -> str:
        return self.console.send(self.key, target, cmd, args, **sign)


@pytest.fixture
def long_mp3(tmp_path: Path) -> bytes:
    return encode(make_tone_wav(tmp_path / "long.wav", 20.0), tmp_path / "long.mp3", "-c:a", "libmp3lame",
                  "-b:a", "64k").read_bytes()


@pytest.fixture
def area() -> str:
    return f"xa-bt-{os.getpid()}-{time.monotonic_ns() % 100000}"  # a group of its own on the shared broker


@pytest.fixture
def gateway(console: Console, keys: Path, area: str, tmp_path: Path):
    registry, outbox = Registry(tmp_path / "bulletins.sqlite"), Outbox(tmp_path / "outbox.sqlite")
    ops = Bulletins(profiles.load(profiles.DEFAULT), ConsoleSender(console, load_signing(keys / "signing.jwk")),
                    registry, outbox, {"A1": area})
    yield ops
    registry.close()
    outbox.close()


def call(ops: Bulletins, op: str, body: dict[str, Any]) -> Reply:
    reply = ops.operations()[op](InboundCall(op, body, CALLER, 0))
    assert reply.ok, reply.reason
    return reply


def watch_unit(make_unit: Any, console: Console, area: str) -> UnitWatch:
    unit = make_unit(groups=(area,), audio={"output": "wav:wavs", "quiet_hours": "off", **FAST_POWER})
    watch = UnitWatch(console, unit)
    console.subscribe(console.topics.report(unit.device_id, "playlog"))
    watch.wait_online()
    return watch


def test_a_scheduled_bulletin_plays_at_its_slot_with_its_metadata_and_cancel_ends_it_while_it_sounds(
        make_unit, console: Console, broker: Broker, gateway: Bulletins, area: str, http_server, long_mp3: bytes):
    watch = watch_unit(make_unit, console, area)
    http_server.routes.files["bt.mp3"] = long_mp3
    slot_at = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) + timedelta(seconds=SLOT_LEAD_S)
    profile = gateway.profile
    body = bulletin_body(profile, id="BT-2026-0042", areas=["A1"], media=http_server.url("/files/bt.mp3"),
                         mode="schedule", schedule_kind="daily", starts=[TIME_OF_DAY.format(slot_at)],
                         title="Phòng chống bão số 9", summary="Bão số 9 đổ bộ…", author_name="Nguyễn Văn A",
                         source="Đài PT-TH tỉnh")
    store, schedule = call(gateway, "bulletin", body).jtis
    assert watch.wait_acks(store, {"finished", "failed"}, 15)[-1] == "finished", watch.unit.output()
    assert watch.wait_acks(schedule, {"finished", "rejected"}, 5)[-1] == "finished", watch.acks(schedule)
    assert watch.pump(SLOT_LEAD_S + 10, lambda: (watch.last_status().get("playing") or {}).get("title")), \
        watch.unit.output()
    started = time.time()
    assert abs(started - slot_at.timestamp()) < 4, "the slot did not start at its time"
    call(gateway, "cancel", bulletin_body(profile, id="BT-2026-0042"))
    assert watch.pump(10, lambda: watch.of("playlog")), watch.unit.output()
    log = watch.of("playlog")[0]
    assert (log["jti"], log["priority"], log["result"]) == (None, "scheduled", "stopped")
    assert log["duration_s"] < 15  # ended by the cancel, not by its 20 s of audio
    assert log["bulletin"] == {"id": "BT-2026-0042", "title": "Phòng chống bão số 9", "summary": "Bão số 9 đổ bộ…",
                               "author": {"name": "Nguyễn Văn A"}, "source": "Đài PT-TH tỉnh"}


def test_an_emergency_plays_at_once_and_cancel_stops_it(make_unit, console: Console, broker: Broker,
                                                         gateway: Bulletins, area: str, http_server, long_mp3: bytes):
    watch = watch_unit(make_unit, console, area)
    http_server.routes.files["kc.mp3"] = long_mp3
    body = bulletin_body(gateway.profile, id="KC-1", areas=["A1"], media=http_server.url("/files/kc.mp3"),
                         priority="emergency", title="Cảnh báo lũ quét")
    (play,) = call(gateway, "bulletin", body).jtis
    assert watch.wait_acks(play, {"started", "failed"}, 15)[-1] == "started", watch.unit.output()
    call(gateway, "cancel", bulletin_body(gateway.profile, id="KC-1"))
    assert watch.wait_acks(play, {"stopped", "finished"}, 10)[-1] == "stopped"
    assert watch.pump(10, lambda: [p for p in watch.of("playlog") if p["play_id"] == play])
    (log,) = [p for p in watch.of("playlog") if p["play_id"] == play]  # the alert tone before it has its own
    assert (log["jti"], log["priority"], log["result"]) == (play, "emergency", "stopped")
    assert log["bulletin"] == {"id": "KC-1", "title": "Cảnh báo lũ quét"}


def test_a_bulletin_relayed_from_central_to_the_province_reaches_every_unit_with_its_origin(
        make_unit, console: Console, broker: Broker, keys: Path, area: str, http_server, media, tmp_path: Path):
    """One publish to the province group (here a group of this test's own: the session broker is shared) reaches
    units of two communes, and the bulletin log built from their play logs names the origin."""
    province = f"{area}-tinh"
    registry, outbox = Registry(tmp_path / "bulletins.sqlite"), Outbox(tmp_path / "outbox.sqlite")
    sender = ConsoleSender(console, load_signing(keys / "signing.jwk"))
    profile = profiles.load(profiles.DEFAULT)
    ops = Bulletins(profile, sender, registry, outbox, {"A1": f"{area}-a", "A2": f"{area}-b", "T64": province},
                    wide=province)
    audio = {"output": "null", "quiet_hours": "off", **FAST_POWER}
    units = [make_unit(groups=(f"{area}-{c}", province), audio=audio) for c in ("a", "b")]
    watches = [UnitWatch(Console(broker.console_access()), u) for u in units]  # a console each: an inbox each
    for w in watches:
        w.console.subscribe(w.console.topics.report(w.unit.device_id, "playlog"))
        w.wait_online()
    http_server.routes.files["tw.mp3"] = media["mp3"].read_bytes()
    body = bulletin_body(profile, id="TW-2026-7", areas=["A1", "T64"], media=http_server.url("/files/tw.mp3"),
                         origin="central", mode="now", title="Bản tin trung ương")
    reply = call(ops, "bulletin", body)
    assert reply.units == (f"grp:{province}",) and len(reply.jtis) == 1
    for w in watches:
        assert "finished" in w.wait_acks(reply.jtis[0], {"finished", "failed"}, 20), (w.seen, w.unit.output())
        assert w.pump(10, lambda w=w: w.of("playlog"))
        (log,) = w.of("playlog")
        assert log["bulletin"] == {"id": "TW-2026-7", "title": "Bản tin trung ương", "origin": "central"}
        north = build_body(profile, "bulletin_log", context(profile, w.unit.device_id, area, {}, {}, log))
        assert north["NguonTiepAm"] == "central" and north["BanTinID"] == "TW-2026-7"
        w.console.close()
    registry.close()
    outbox.close()
