"""The bulletin operations with a recording Sender (the unit is not the point here): media fetched from a real local
HTTP server and hashed into the signed command, refusals that send nothing (bad media, unknown bulletin, grants),
cancel and reschedule from the registry after a gateway restart, and schedule logs queued north."""

from __future__ import annotations

import hashlib
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from agent.core.topics import Target
from province.localnet import free_port
from tests.conftest import wait_until
from tests.tools.gateway.bulletin_helpers import bulletin_body
from tests.tools.gateway.helpers import PASSWORD, PROFILES, USER, Htttn
from tools.gateway import config
from tools.gateway.bulletin_registry import Registry
from tools.gateway.bulletins import Bulletins, open_operations
from tools.gateway.inbound_api import Caller, InboundCall, Reply
from tools.gateway.mapping import lookup
from tools.gateway.media import Fetcher
from tools.gateway.north import North
from tools.gateway.outbox import Outbox
from tools.gateway.profile import Profile, load
from tools.gateway.sender import Senders

AREAS = {"X01": "xa-a", "X02": "xa-b", "T64": "province"}
EVERYTHING = Caller("htttn", "cb-01", frozenset({"normal", "priority", "emergency"}), frozenset())


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[Target, str, dict[str, Any]]] = []

    def send(self, target: Target, cmd: str, args: dict[str, Any], **sign: Any) -> str:
        self.sent.append((target, cmd, args))
        return f"j{len(self.sent)}"


class Gateway:
    """The operations over a registry and an outbox in one directory; `restart` opens them again."""

    def __init__(self, tmp: Path, profile: Profile, fetch: Fetcher | None = None) -> None:
        self.tmp, self.profile, self.fetch = tmp, profile, fetch or Fetcher(max_bytes=1_000_000, timeout_s=5)
        self.sender = RecordingSender()
        self.restart()

    def restart(self) -> None:
        self.registry = Registry(self.tmp / "bulletins.sqlite")
        self.outbox = Outbox(self.tmp / "outbox.sqlite")
        self.ops = Bulletins(self.profile, self.sender, self.registry, self.outbox, AREAS, fetch=self.fetch)

    def call(self, op: str, body: dict[str, Any], caller: Caller = EVERYTHING) -> Reply:
        return self.ops.operations()[op](InboundCall(op, body, caller, 0))

    def schedule_logs(self) -> list[dict[str, Any]]:
        logs = []
        while item := self.outbox.claim(2**62):
            logs.append(item.body)
            self.outbox.sent(item, 0)
        return logs

    def close(self) -> None:
        self.registry.close()
        self.outbox.close()


@pytest.fixture(params=sorted(PROFILES))
def gateway(request: pytest.FixtureRequest, tmp_path: Path):
    g = Gateway(tmp_path, load(PROFILES[request.param]))
    yield g
    g.close()


def weekly(g: Gateway, url: str, bid: str = "BT-1", **extra: Any) -> dict[str, Any]:
    return bulletin_body(g.profile, id=bid, areas=["X01", "X02"], media=url, mode="schedule", title="Bản tin sáng",
                         starts=["06:30:00.000000"], **extra)


def field(g: Gateway, name: str) -> str:
    return name if g.profile.http.schedule_log_path.startswith("/api") else "X" + name


def test_a_scheduled_bulletin_is_stored_with_the_hash_of_its_media_and_programmed_on_each_area(
        gateway: Gateway, http_server, media) -> None:
    mp3 = media["mp3"].read_bytes()
    http_server.routes.files["bt.mp3"] = mp3
    reply = gateway.call("bulletin", weekly(gateway, http_server.url("/files/bt.mp3")))
    assert reply.ok, reply.reason
    assert [(t.name, cmd) for t, cmd, _ in gateway.sender.sent] == [
        ("xa-a", "store"), ("xa-a", "schedule"), ("xa-b", "store"), ("xa-b", "schedule")]
    store = gateway.sender.sent[0][2]
    assert store["sha256"] == hashlib.sha256(mp3).hexdigest()
    assert reply.jtis == ("j1", "j2", "j3", "j4") and reply.units == ("grp:xa-a", "grp:xa-b")
    (log,) = gateway.schedule_logs()
    assert log[field(gateway, "LichPhatID")] == "BT-1" and log[field(gateway, "DanhSachBanTin")] == ["BT-1"]
    assert log[field(gateway, "DanhSachDiaBan")] == ["X01", "X02"]
    assert log[field(gateway, "TrangThai")] == gateway.profile.maps["schedule_action"]["added"]


def test_cancel_after_a_restart_stops_it_and_programmes_the_areas_without_it(gateway: Gateway, http_server,
                                                                             media) -> None:
    http_server.routes.files["a.mp3"] = http_server.routes.files["b.mp3"] = media["mp3"].read_bytes()
    assert gateway.call("bulletin", weekly(gateway, http_server.url("/files/a.mp3"), "BT-1")).ok
    assert gateway.call("bulletin", weekly(gateway, http_server.url("/files/b.mp3"), "BT-2")).ok
    last = gateway.sender.sent[-1][2]
    assert [s["source"]["ref"] for s in last["slots"]] == ["htttn-BT-1", "htttn-BT-2"]  # both on one programme
    gateway.close()
    gateway.restart()
    gateway.sender.sent.clear()
    reply = gateway.call("cancel", bulletin_body(gateway.profile, id="BT-1"))
    assert reply.ok, reply.reason
    sent = [(t.name, cmd, args) for t, cmd, args in gateway.sender.sent]
    assert [(n, c) for n, c, _ in sent] == [("xa-a", "schedule"), ("xa-a", "stop"), ("xa-b", "schedule"),
                                           ("xa-b", "stop")]
    assert [s["source"]["ref"] for s in sent[0][2]["slots"]] == ["htttn-BT-2"]
    assert sent[0][2]["version"] > last["version"]
    assert sent[1][2] == {"ref": "htttn-BT-1"}
    again = gateway.call("cancel", bulletin_body(gateway.profile, id="BT-1"))
    assert (again.ok, again.http_status) == (False, 404)


def test_a_bulletin_played_now_is_cancelled_by_stopping_its_command(gateway: Gateway, http_server, media) -> None:
    http_server.routes.files["kc.mp3"] = media["mp3"].read_bytes()
    body = bulletin_body(gateway.profile, id="KC-1", areas=["X01"], media=http_server.url("/files/kc.mp3"),
                         priority="emergency")
    reply = gateway.call("bulletin", body)
    assert reply.ok and [c for _, c, _ in gateway.sender.sent] == ["play"]
    assert gateway.call("cancel", bulletin_body(gateway.profile, id="KC-1")).ok
    assert gateway.sender.sent[-1][1:] == ("stop", {"jti": reply.jtis[0]})
    assert gateway.schedule_logs() == []  # no programme changed


def test_reschedule_replaces_its_slots(gateway: Gateway, http_server, media) -> None:
    http_server.routes.files["a.mp3"] = media["mp3"].read_bytes()
    assert gateway.call("bulletin", weekly(gateway, http_server.url("/files/a.mp3"))).ok
    gateway.sender.sent.clear()
    body = bulletin_body(gateway.profile, id="BT-1", mode="schedule", schedule_kind="daily",
                         starts=["19:00:00.000000"])
    reply = gateway.call("reschedule", body)
    assert reply.ok, reply.reason
    schedules = [args for _, cmd, args in gateway.sender.sent if cmd == "schedule"]
    assert len(schedules) == 2
    assert [(s["kind"], s["at"]) for s in schedules[0]["slots"]] == [("daily", "19:00:00")]
    actions = [log[field(gateway, "TrangThai")] for log in gateway.schedule_logs()]
    codes = gateway.profile.maps["schedule_action"]
    assert actions == [codes["added"], codes["removed"], codes["added"]]


@pytest.mark.parametrize("served, says", [
    (b"<html>not found</html>" * 10, "not an audio file"),
    (b"\xff\xfb" + b"\0" * 2_000_000, "larger than"),
])
def test_media_that_is_not_audio_or_too_large_is_refused_and_nothing_is_sent(gateway: Gateway, http_server,
                                                                             served: bytes, says: str) -> None:
    http_server.routes.files["x.mp3"] = served
    reply = gateway.call("bulletin", weekly(gateway, http_server.url("/files/x.mp3")))
    assert (reply.ok, reply.http_status) == (False, 422) and says in reply.reason
    assert gateway.sender.sent == [] and gateway.schedule_logs() == []


def test_media_cut_short_or_unreachable_is_refused_and_nothing_is_sent(gateway: Gateway, http_server,
                                                                       media) -> None:
    http_server.routes.files["cut.mp3"] = media["mp3"].read_bytes()
    http_server.routes.cuts["cut.mp3"] = [1000]
    for url in (http_server.url("/files/cut.mp3"), f"http://127.0.0.1:{free_port()}/a.mp3",
                http_server.url("/files/missing.mp3")):
        reply = gateway.call("bulletin", weekly(gateway, url))
        assert (reply.ok, reply.http_status) == (False, 422), reply
        assert "cannot fetch" in reply.reason or "answered" in reply.reason
    assert gateway.sender.sent == []
    assert gateway.call("cancel", bulletin_body(gateway.profile, id="BT-1")).http_status == 404  # nothing recorded


def test_grants_levels_and_areas(gateway: Gateway, http_server, media) -> None:
    http_server.routes.files["a.mp3"] = media["mp3"].read_bytes()
    url = http_server.url("/files/a.mp3")
    normal_only = Caller("xa", "", frozenset({"normal", "priority"}), frozenset({"X01"}))
    emergency = bulletin_body(gateway.profile, id="KC-2", areas=["X01"], media=url, priority="emergency")
    assert gateway.call("bulletin", emergency, normal_only).http_status == 403
    other_area = weekly(gateway, url)  # X01 and X02
    refused = gateway.call("bulletin", other_area, normal_only)
    assert refused.http_status == 403 and "X02" in refused.reason
    assert gateway.sender.sent == []


def test_a_bulletin_id_already_active_is_a_conflict_and_a_malformed_body_a_bad_request(gateway: Gateway,
                                                                                        http_server, media) -> None:
    http_server.routes.files["a.mp3"] = media["mp3"].read_bytes()
    assert gateway.call("bulletin", weekly(gateway, http_server.url("/files/a.mp3"))).ok
    sent = len(gateway.sender.sent)
    assert gateway.call("bulletin", weekly(gateway, http_server.url("/files/a.mp3"))).http_status == 409
    bad = gateway.call("bulletin", {"nothing": "here"})
    assert (bad.http_status, bool(bad.reason)) == (400, True)
    assert len(gateway.sender.sent) == sent
    fields = gateway.profile.inbound.bulletin
    assert fields is not None and lookup(weekly(gateway, "http://x/a.mp3"), fields.id) == "BT-1"


def test_a_running_gateway_keeps_its_registry_beside_the_outbox_and_its_media_limit_from_the_config(
        tmp_path: Path, http_server) -> None:
    (tmp_path / "pw").write_text("x\n", encoding="utf-8")
    (tmp_path / "gateway.toml").write_text(
        '[htttn]\nusername = "u"\npassword_file = "pw"\n[broker]\nurl = "mqtt://127.0.0.1:1"\n'
        '[gateway]\noutbox = "gw.sqlite"\nmedia_max_mb = 1\nwide_groups = ["tinh", "huyen"]\n', encoding="utf-8")
    cfg = config.load(tmp_path / "gateway.toml")
    sender, outbox = RecordingSender(), Outbox(Path(cfg.gateway.outbox))
    with ExitStack() as parts:
        ops = open_operations(cfg, sender, outbox, {"T64": "tinh"}, parts)
        http_server.routes.files["big.mp3"] = b"ID3" + b"\0" * 1_100_000
        url = http_server.url("/files/big.mp3")
        big = bulletin_body(cfg.profile, id="B", areas=["T64"], media=url)
        reply = ops["bulletin"](InboundCall("bulletin", big, EVERYTHING, 0))
        assert reply.http_status == 422 and "1 MiB" in reply.reason
        http_server.routes.files["big.mp3"] = b"ID3" + b"\0" * 1000
        assert ops["bulletin"](InboundCall("bulletin", big, EVERYTHING, 0)).units == ("grp:tinh",)
    outbox.close()
    assert (tmp_path / "gw.bulletins.sqlite").exists()


@pytest.mark.parametrize("dialect", sorted(PROFILES))
def test_schedule_logs_reach_the_emulated_htttn_through_the_senders(tmp_path: Path, http_server, media,
                                                                    dialect: str) -> None:
    htttn = Htttn(tmp_path, PROFILES[dialect])
    htttn.start()
    g = Gateway(tmp_path, load(PROFILES[dialect]))
    north = North(g.profile, htttn.url, {"": (USER, PASSWORD)}, concurrency=2)
    senders = Senders(g.outbox, north, lambda key, **_: None, concurrency=2, backoff_base_s=0.2, backoff_cap_s=1.0)
    try:
        http_server.routes.files["a.mp3"] = media["mp3"].read_bytes()
        assert g.call("bulletin", weekly(g, http_server.url("/files/a.mp3"))).ok
        assert g.call("cancel", bulletin_body(g.profile, id="BT-1")).ok
        senders.start()
        assert wait_until(lambda: len(htttn.logs()) == 2, 15), g.outbox.counts()
        logs = htttn.logs()
    finally:
        senders.close()
        north.close()
        g.close()
        htttn.stop()
    assert {log["kind"] for log in logs} == {"schedule_log"}
    codes = g.profile.maps["schedule_action"]
    assert sorted(str(log["body"][field(g, "TrangThai")]) for log in logs) == \
        sorted(str(codes[a]) for a in ("added", "removed"))
    assert all(log["body"][field(g, "LichPhatID")] == "BT-1" for log in logs)
