"""The gateway's inbound API end to end: the real gateway process with its inbound API over real HTTP, real agents on
the session's Mosquitto, commands signed with the gateway's own scoped key. Every test runs with the default profile
and with the one that renames every field, path and code; bodies are built from the profile's names."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from province.console import Console
from province.keys import GATEWAYS, load_signing
from tests.conftest import Broker, wait_until
from tests.e2e.browser import Browser
from tests.e2e.link_helpers import UnitWatch
from tests.tools.gateway.helpers import PROFILES, Htttn, Process, gateway_config, start_gateway
from tests.tools.gateway.inbound_helpers import GATEWAY_KEY, Caller, Inbound, gateway_keys, with_inbound
from tools.gateway import audit
from tools.gateway import profile as profiles
from tools.gateway.emulator_send import via_emulator

AREA_A = "H-XA-A"  # the HTTTN's id for the commune whose Loa group is xa-in-a


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Units of this module also trust a gateway key granted normal and priority only."""
    return gateway_keys(tmp_path_factory.mktemp("gateway-keys"))


@pytest.fixture(params=sorted(PROFILES))
def profile_path(request: pytest.FixtureRequest) -> Path:
    return PROFILES[request.param]


def body(profile: profiles.Profile, **values: Any) -> dict[str, Any]:
    """A body with the HTTTN's first name for each of Loa's field names (dotted names nest)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        at = out
        steps = profile.api.fields[name][0].split(".")
        for step in steps[:-1]:
            at = at.setdefault(step, {})
        at[steps[-1]] = value
    return out


def control_code(profile: profiles.Profile, cmd: str) -> str:
    return next(code for code, c in profile.api.control.items() if c.cmd == cmd)


STARTED: list[Process] = []  # gateways of the running test: stopped at its end even when an assertion failed


@pytest.fixture(autouse=True)
def _stop_gateways() -> Iterator[None]:
    yield
    while STARTED:
        STARTED.pop().stop(signal.SIGKILL)


def start(tmp_path: Path, broker: Broker, keys: Path, profile_path: Path, **listen: Any) -> tuple[Process, Inbound]:
    config = gateway_config(tmp_path, broker, Htttn(tmp_path, profile_path))
    inbound = with_inbound(config, keys, profile_path, areas={AREA_A: "xa-in-a"}, **listen)
    gateway = start_gateway(tmp_path, config)
    STARTED.append(gateway)
    assert "Inbound API for the HTTTN" in gateway.output()
    return gateway, inbound


def test_register_area_volume_control_and_status_reach_the_unit(make_unit, console: Console, broker: Broker,
                                                                keys: Path, profile_path: Path, tmp_path: Path):
    unit, moved = make_unit(groups=("xa-in-a", "province")), make_unit(groups=("xa-in-b", "province"))
    moved_console = Console(broker.console_access())  # a console each: an inbox each
    watch, moved_watch = UnitWatch(console, unit), UnitWatch(moved_console, moved)
    watch.wait_online()
    moved_watch.wait_online()
    gateway, api = start(tmp_path, broker, keys, profile_path)
    p, dev = api.profile, unit.device_id
    status, reply, _ = api.call("register", body(p, cluster_id="ghost-1", auth_code=123456))
    assert status == 404 and api.failed(reply)  # unknown to Loa
    assert wait_until(lambda: api.call("register", body(p, cluster_id=dev, auth_code=123456))[0] == 200, 5)
    status, reply, _ = api.call("register", body(p, cluster_id=dev, auth_code=654321))
    assert status == 409 and api.failed(reply)
    status, reply, _ = api.call("assign_area", body(p, cluster_id=dev, area=AREA_A))
    assert status == 200 and api.ok(reply)
    # a cluster the HTTTN puts in an area whose group it was not provisioned in is reached by its device id
    assert api.call("register", body(p, cluster_id=moved.device_id, auth_code="777"))[0] == 200
    assert api.call("assign_area", body(p, cluster_id=moved.device_id, area=AREA_A))[0] == 200

    status, reply, jtis = api.call("volume", body(p, cluster_id=dev, volume=35))
    assert status == 200 and api.ok(reply) and len(jtis) == 1
    assert watch.wait_acks(jtis[0], {"finished", "rejected"})[-1] == "finished"
    assert watch.pump(5, lambda: watch.last_status().get("volume_pct") == 35)

    areas = [{p.api.fields["target_area_id"][0]: AREA_A}]
    status, reply, jtis = api.call("control", body(p, target_areas=areas, control_code=control_code(p, "volume"),
                                                   control_param="80"))
    assert status == 200 and api.ok(reply) and len(jtis) == 2  # one publish to the commune's group, one to moved
    assert watch.wait_acks(jtis[0], {"finished", "rejected"})[-1] == "finished"
    assert watch.pump(5, lambda: watch.last_status().get("volume_pct") == 80)
    assert moved_watch.wait_acks(jtis[1], {"finished", "rejected"})[-1] == "finished"
    assert moved_watch.pump(5, lambda: moved_watch.last_status().get("volume_pct") == 80)

    status, reply, _ = api.call("control", body(p, target_units=[dev], control_code=control_code(p, "ping")))
    assert status == 200 and api.ok(reply)

    def answer() -> dict[str, Any]:
        return dict(api.call("status", body(p, cluster_id=dev))[1][p.api.content_field])

    assert wait_until(lambda: answer().get(_name(p, "AmLuong")) == 80, 5), answer()
    assert answer()[_name(p, "TrangThaiHoatDong")] == p.maps["activity"]["stopped"]
    assert answer()[_name(p, "CumLoaId")] == dev
    status, reply, _ = api.call("query", body(p, cluster_id=dev))
    assert status == 200 and reply[p.api.content_field][p.api.fields["area"][0]] == AREA_A

    records = audit.read(api.audit)
    sent = [r for r in records if r["jtis"]]
    assert [r["operation"] for r in sent] == ["volume", "control", "control"]
    assert len(sent[1]["jtis"]) == 2
    assert all(r["client"] == "htttn" and r["operator"] == "Nguyen Van A" and r["ok"] for r in sent)
    assert sent[0]["units"] == [dev] and sent[1]["areas"] == [AREA_A]
    assert not any("token" in str(r).lower() and api.callers["htttn"].token in str(r) for r in records)
    assert gateway.stop() == 0, gateway.output()
    moved_console.close()


def _name(p: profiles.Profile, default_name: str) -> str:
    """A status answer's field name in this profile (the renamed profile prefixes each with X)."""
    return next(n for n in p.api.status_reply if n.lstrip("X") == default_name)


def test_refusals_are_clear_audited_and_send_nothing(make_unit, console: Console, broker: Broker, keys: Path,
                                                     profile_path: Path, tmp_path: Path):
    unit = make_unit(groups=("xa-in-a", "province"))
    UnitWatch(console, unit).wait_online()
    gateway, api = start(tmp_path, broker, keys, profile_path)
    p, dev = api.profile, unit.device_id
    console.subscribe(f"{console.topics.prefix}/+/+/cmd")
    volume = body(p, cluster_id=dev, volume=50)

    status, reply, _ = api.call("volume", volume, token="forged-token-0123456789")
    assert status == 401 and api.failed(reply)
    status, reply, _ = api.call("volume", None, raw=b"{not json")
    assert status == 400 and api.failed(reply)
    status, reply, _ = api.call("volume", body(p, cluster_id=dev))  # no volume field
    assert status == 400 and api.failed(reply) and p.api.fields["volume"][0] in reply[p.http.reason_field]
    status, reply, _ = api.call("volume", body(p, cluster_id=dev, volume=140))
    assert status == 400 and api.failed(reply)
    status, reply, _ = api.call("volume", volume, path="/no/such/path")
    assert status == 404 and api.failed(reply)
    status, reply, _ = api.call("control", body(p, target_units=[dev], control_code="99", control_param="1"))
    assert status == 400 and api.failed(reply) and "99" in reply[p.http.reason_field]
    status, reply, _ = api.call("control", body(p, target_units=["ghost-2"], control_code=control_code(p, "stop")))
    assert status == 404 and api.failed(reply)
    nowhere = [{p.api.fields["target_area_id"][0]: "H-NOWHERE"}]
    status, reply, _ = api.call("control", body(p, target_areas=nowhere, control_code=control_code(p, "stop")))
    assert status == 404 and api.failed(reply) and "H-NOWHERE" in reply[p.http.reason_field]

    assert [t for t, _, _ in console.messages(time.monotonic() + 1.5) if t.endswith("/cmd")] == []
    assert api.call("volume", volume)[0] == 200  # the same watch does see a command the gateway sends
    assert [t for t, _, _ in console.messages(time.monotonic() + 1.5) if t.endswith("/cmd")] == [
        console.topics.device_command(dev)]
    records = audit.read(api.audit)[:-1]
    assert [r["http"] for r in records] == [401, 400, 400, 400, 404, 400, 404, 404]
    assert records[0]["client"] is None and not any(r["jtis"] for r in records)
    assert "Refused an HTTTN call" in gateway.output()
    gateway.stop()


def test_rate_limits_and_emergency_grants(make_unit, console: Console, broker: Broker, keys: Path,
                                          profile_path: Path, tmp_path: Path):
    """A normal-only credential cannot send an emergency (refused, audited); one granted emergency can, within its
    own stricter bucket; every credential has its own bucket of calls."""
    unit = make_unit(groups=("xa-in-a", "province"))
    UnitWatch(console, unit).wait_online()
    callers = (Caller("htttn", "t-" + "n" * 30, ("normal", "priority")),
               Caller("khan-cap", "t-" + "e" * 30, ("normal", "priority", "emergency")))
    gateway, api = start(tmp_path, broker, keys, profile_path, callers=callers, burst=4, rate_per_min=1.0,
                         emergency_burst=1, emergency_per_hour=1.0)
    p, dev = api.profile, unit.device_id
    emergency = {**body(p, priority=p.maps["priority"]["emergency"]),
                 **body(p, target_areas=[{p.api.fields["target_area_id"][0]: AREA_A}])}

    status, reply, _ = api.call("bulletin", emergency, caller="htttn")
    assert status == 403 and api.failed(reply)
    status, _, _ = api.call("bulletin", emergency, caller="khan-cap")
    assert status not in (403, 429)  # granted, within its bucket (what the bulletin operation makes of it aside)
    status, reply, _ = api.call("bulletin", emergency, caller="khan-cap")
    assert status == 429 and api.failed(reply)  # a second emergency at once: its own, stricter bucket

    statuses = [api.call("status", body(p, cluster_id=dev), caller="htttn")[0] for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # burst 4 (a call refused for its level takes none)
    assert api.call("status", body(p, cluster_id=dev), caller="khan-cap")[0] == 200  # another credential's bucket

    records = audit.read(api.audit)
    refused = records[0]
    assert refused["client"] == "htttn" and refused["level"] == "emergency" and refused["http"] == 403
    assert refused["operator"] == "Nguyen Van A" and refused["areas"] == [] and refused["jtis"] == []
    gateway.stop()


def test_the_unit_refuses_an_emergency_signed_by_a_gateway_key_without_that_level(make_unit, console: Console,
                                                                                  keys: Path):
    """Even a gateway that let one through could not sound it: the unit checks the key's granted levels."""
    unit = make_unit(groups=("xa-in-a", "province"))
    watch = UnitWatch(console, unit)
    watch.wait_online()
    key = load_signing(keys / GATEWAYS / f"{GATEWAY_KEY}.jwk")
    emergency = watch.send(key, "play", {"source": {"tts": "Khẩn cấp"}, "priority": "emergency"})
    watch.wait_acks(emergency, {"rejected", "accepted"})
    assert [(a["state"], a["code"]) for a in watch.acks(emergency)] == [("rejected", "not_allowed")]
    ping = watch.send(key, "ping", {})
    assert watch.wait_acks(ping, {"finished", "rejected"})[-1] == "finished"  # the same key, within its scope


def test_the_emulator_sends_control_calls_to_the_gateway(make_unit, console: Console, broker: Broker, keys: Path,
                                                         profile_path: Path, tmp_path: Path):
    unit = make_unit(groups=("xa-in-a", "province"))
    watch = UnitWatch(console, unit)
    watch.wait_online()
    gateway, api = start(tmp_path, broker, keys, profile_path)
    token_file = tmp_path / "htttn.token"
    htttn = Htttn(tmp_path / "emu", profile_path)
    htttn.dir.mkdir()
    htttn.start("--gateway-url", api.url, "--gateway-token-file", str(token_file))
    try:
        p = api.profile
        jtis = via_emulator(htttn.url, "control", body(p, target_units=[unit.device_id],
                                                       control_code=control_code(p, "volume"), control_param=65))
        assert len(jtis) == 1
        assert watch.wait_acks(jtis[0], {"finished", "rejected"})[-1] == "finished"
        with pytest.raises(RuntimeError):
            via_emulator(htttn.url, "control", body(p, target_units=[unit.device_id], control_code="99"))
        page = htttn.text("/emulator/send")
        assert "<form" in page and all(op in page for op in p.api.paths)
        assert audit.read(api.audit)[0]["operator"] == "bench"
    finally:
        htttn.stop()
        gateway.stop()


def test_the_emulators_form_sends_a_call_and_shows_the_answer(broker: Broker, keys: Path, tmp_path: Path):
    """In headless Chromium: a person picks an operation, writes the body and sees the gateway's answer."""
    gateway, api = start(tmp_path, broker, keys, PROFILES["default"])
    htttn = Htttn(tmp_path / "emu", PROFILES["default"])
    htttn.dir.mkdir()
    htttn.start("--gateway-url", api.url, "--gateway-token-file", str(tmp_path / "htttn.token"))
    browser = Browser()
    try:
        p = api.profile
        browser.driver.get(htttn.url + "/emulator/send")
        browser.js("document.getElementById('operation').value = 'status';"
                   "document.getElementById('body').value = arguments[0];"
                   "document.getElementById('operator').value = 'Trần Thị Bình';"
                   "document.querySelector('#send button').click();",
                   json.dumps(body(p, cluster_id="chua-co-1"), ensure_ascii=False))
        browser.wait(lambda: "404" in browser.text("answer"), 10)
        assert "chua-co-1" in browser.text("answer")  # the gateway's reason, in the HTTTN's reply shape
        assert audit.read(api.audit)[-1]["operation"] == "status"
        assert audit.read(api.audit)[-1]["operator"] == "Trần Thị Bình"  # sent percent-encoded, read back
    finally:
        browser.close()
        htttn.stop()
        gateway.stop()
