"""`loa gateway` end to end: real agents on the session's Mosquitto, the real gateway process, and the HTTTN emulator
over real HTTP. Every test runs with the default profile and with one that renames every field and path (the
dialect is data). Field names and codes are read through the profile, never spelled here for one dialect only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from province.console import Console
from province.keys import load_signing
from tests.conftest import Broker, wait_until
from tests.e2e.link_helpers import UnitWatch
from tests.tools.gateway.helpers import PASSWORD, PROFILES, USER, Htttn, gateway_config, start_gateway
from tools.gateway import profile as profiles

AUDIO = {"output": "null", "quiet_hours": "off", "warmup_s": 0.1, "tail_s": 0.2}


@pytest.fixture(params=sorted(PROFILES))
def htttn(request: pytest.FixtureRequest, tmp_path: Path):
    emulator = Htttn(tmp_path, PROFILES[request.param])
    emulator.start()
    yield emulator
    if emulator.process:
        emulator.process.stop()


def field(htttn: Htttn, name: str) -> str:
    """A field's name in this dialect: the renamed profile prefixes every name of the default with X."""
    return name if htttn.profile == profiles.DEFAULT else "X" + name


def code(htttn: Htttn, table: str, value: str) -> Any:
    return profiles.load(htttn.profile).maps[table][value]


def test_three_clusters_register_and_ping_and_count_as_connected(make_unit, console: Console, broker: Broker,
                                                                 htttn: Htttn, tmp_path: Path):
    units = [make_unit(groups=(commune, "province")) for commune in ("xa-a", "xa-a", "xa-b")]
    for unit in units:
        UnitWatch(console, unit).wait_online()
    record = tmp_path / "record.jsonl"
    gateway = start_gateway(tmp_path, gateway_config(tmp_path, broker, htttn), "--record", str(record))
    indicator = wait_until(lambda: (i := htttn.get("/emulator/indicator"))["connected"] == 3 and i, 20)
    assert indicator, (htttn.get("/emulator/indicator"), gateway.output())
    assert indicator["total"] == 3
    assert {a["area"]: (a["connected"], a["total"]) for a in indicator["areas"]} == {"xa-a": (2, 2), "xa-b": (1, 1)}
    last = {c["id"]: c["last"] for c in indicator["clusters"]}
    assert set(last) == {u.device_id for u in units}
    ping = last[units[0].device_id]
    assert ping[field(htttn, "CumLoaID")] == units[0].device_id
    assert ping[field(htttn, "DichID")] == "xa-a"
    assert ping[field(htttn, "TrangThaiHoatDong")] == code(htttn, "activity", "stopped")
    assert isinstance(ping[field(htttn, "AmLuong")], int)
    assert ping[field(htttn, "PhienBanUngDung")]
    assert gateway.stop() == 0, gateway.output()
    assert "Gateway stopped" in gateway.output()
    _assert_record_masks_secrets(record, htttn)


def _assert_record_masks_secrets(record: Path, htttn: Htttn) -> None:
    lines = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    login = profiles.load(htttn.profile).login
    logins = [ln for ln in lines if ln["url"].endswith(profiles.load(htttn.profile).http.login_path)]
    assert logins and any(ln["status"] == 200 for ln in lines if ln not in logins)
    text = record.read_text(encoding="utf-8")
    assert PASSWORD not in text
    assert logins[0]["request"][login.password_field] == "***"
    token_path = login.token_field.split(".")
    assert logins[0]["reply"][token_path[0]][token_path[1]] == "***"
    assert all(ln["headers"].get(login.header, "***") == "***" for ln in lines)


def test_a_play_yields_one_bulletin_log_with_its_metadata(make_unit, console: Console, broker: Broker, keys: Path,
                                                          htttn: Htttn, tmp_path: Path):
    unit = make_unit(groups=("xa-log", "province"), audio=AUDIO)
    watch = UnitWatch(console, unit)
    watch.wait_online()
    gateway = start_gateway(tmp_path, gateway_config(tmp_path, broker, htttn))
    jti = watch.send(load_signing(keys / "signing.jwk"), "play",
                     {"source": {"tts": "Bản tin thử"}, "title": "Lịch tiêm phòng", "priority": "priority"})
    assert watch.wait_acks(jti, {"finished", "failed"}, timeout=20)[-1] == "finished"
    assert wait_until(lambda: htttn.logs(), 15), gateway.output()
    wait_until(lambda: len(htttn.logs()) > 1, 2)  # a second log would be a duplicate: give it the time to show
    logs = htttn.logs()
    assert len(logs) == 1 and logs[0]["kind"] == "bulletin_log"
    body = logs[0]["body"]
    assert body[field(htttn, "BanTinID")] == jti
    assert body[field(htttn, "CumLoaID")] == unit.device_id
    assert body[field(htttn, "DichID")] == "xa-log"
    assert body[field(htttn, "TieuDe")] == "Lịch tiêm phòng"
    assert body[field(htttn, "MucDoUuTien")] == code(htttn, "priority", "priority")
    assert body[field(htttn, "LoaiBanTin")] == code(htttn, "content_kind", "tts")
    assert isinstance(body[field(htttn, "ThoiLuong")], int)
    assert body[field(htttn, "ThoiDiemBatDau")]
    gateway.stop()


def test_the_htttn_down_for_a_while_loses_no_log(make_unit, console: Console, broker: Broker, keys: Path,
                                                 htttn: Htttn, tmp_path: Path):
    """The HTTTN stops; two plays happen; the gateway itself restarts meanwhile; the HTTTN comes back: both logs."""
    unit = make_unit(groups=("xa-down", "province"), audio=AUDIO)
    watch = UnitWatch(console, unit)
    watch.wait_online()
    config = gateway_config(tmp_path, broker, htttn)
    gateway = start_gateway(tmp_path, config)
    assert wait_until(lambda: htttn.get("/emulator/indicator")["connected"] == 1, 15), gateway.output()
    htttn.stop()
    key = load_signing(keys / "signing.jwk")
    jtis = []
    for title in ("Bản tin một", "Bản tin hai"):
        jtis.append(watch.send(key, "play", {"source": {"tts": title}, "title": title}))
        assert watch.wait_acks(jtis[-1], {"finished", "failed"}, timeout=20)[-1] == "finished"
    assert wait_until(lambda: gateway.output().count("Queued for the HTTTN: bulletin_log") == 2, 15), gateway.output()
    assert wait_until(lambda: "does not take our calls" in gateway.output(), 10), gateway.output()
    assert gateway.stop() == 0
    gateway = start_gateway(tmp_path, config)  # what it had not sent is in its outbox on disk
    assert wait_until(lambda: gateway.output().count("does not take our calls") == 2, 10), gateway.output()
    htttn.start()
    assert wait_until(lambda: len(htttn.logs()) == 2, 20), gateway.output()
    assert sorted(g["body"][field(htttn, "BanTinID")] for g in htttn.logs()) == sorted(jtis)
    assert wait_until(lambda: "answers again" in gateway.output(), 5), gateway.output()
    gateway.stop()


def test_a_bad_token_is_refused_and_the_gateway_logs_in_again_when_its_token_is_dropped(
        make_unit, console: Console, broker: Broker, htttn: Htttn, tmp_path: Path):
    profile = profiles.load(htttn.profile)
    status, reply = htttn.post(profile.http.ping_path, {field(htttn, "CumLoaID"): "intruder"}, token="forged")
    assert status == 401
    assert reply[profile.http.status_field] != profile.http.ok_value and reply[profile.http.reason_field]
    assert htttn.get("/emulator/clusters") == []
    unit = make_unit(groups=("xa-token", "province"))
    UnitWatch(console, unit).wait_online()
    gateway = start_gateway(tmp_path, gateway_config(tmp_path, broker, htttn))
    assert wait_until(lambda: htttn.get("/emulator/indicator")["connected"] == 1, 15), gateway.output()
    pings = htttn.get("/emulator/clusters")[0]["pings"]
    htttn.post("/emulator/revoke-tokens", {})
    assert wait_until(lambda: htttn.get("/emulator/clusters")[0]["pings"] >= pings + 2, 10), gateway.output()
    assert htttn.get("/emulator/indicator")["logins"] == {USER: 2}  # the dropped token was renewed by a new login
    assert "refused" not in gateway.output()
    gateway.stop()
