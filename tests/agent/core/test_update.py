"""The update desk as tables of events -> effects: the command's steps, every refusal with its code, the health
check of a new release in the process that runs it, and the report of a roll-back after it."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from joserfc.jwk import OKPKey

from agent.core import release
from agent.core.device import Device, DeviceSettings, DeviceState
from agent.core.effects import (
    ClearOutcome,
    Effect,
    FetchRelease,
    InstallRelease,
    KeepRelease,
    Publish,
    RollBack,
    SaveSetting,
    StartTrial,
)
from agent.core.events import (
    LinkUp,
    OutboxChanged,
    RelayObserved,
    ReleaseFetched,
    ReleaseInstalled,
    ReleaseStepFailed,
    Started,
)
from agent.core.update import BootInfo, UpdateSettings, floor_of, inactive_slot
from agent.core.verify import Policy, load_trust
from tests.agent.core.device_helpers import KEY as COMMAND_KEY
from tests.agent.core.device_helpers import T0, acks, arrive, fire, relays, timers
from tools.release import sign_release

RELEASE_KEY = OKPKey.generate_key("Ed25519", parameters={"kid": "rel"})
TRUST = load_trust({"keys": [RELEASE_KEY.as_dict(private=False)]})
SHA = "cd" * 32
URL = {"url": "http://files/loa.bundle", "sha256": "ab" * 32}


def boot_unit(version: str = "0.1.0", saved: dict[str, Any] | None = None,
              **boot: Any) -> tuple[Device, list[Effect]]:
    """A unit as it starts: the device and the effects of its Started event."""
    boot = {"supervised": True} | boot
    update = UpdateSettings(trust=boot.pop("trust", TRUST), check_s=30, test_zone=1, boot=BootInfo(**boot))
    policy = Policy(device_id="d1", groups=frozenset({"g1"}), issuers=frozenset({"province"}))
    settings = DeviceSettings(device_id="d1", groups=("g1",), zones=(1, 2), version=version, policy=policy,
                              update=update)
    device = Device(settings, load_trust({"keys": [COMMAND_KEY.as_dict(private=False)]}),
                    DeviceState(saved=saved or {}), random.Random(7))
    return device, device.handle(Started(T0))


def unit(version: str = "0.1.0", saved: dict[str, Any] | None = None, **boot: Any) -> Device:
    device, _ = boot_unit(version, saved, **boot)
    device.handle(LinkUp(T0))
    return device


def fetched(version: str = "0.2.0", *, key: OKPKey = RELEASE_KEY, expires_s: int = T0 // 1000 + 86400,
            sha: str = SHA, now_ms: int = T0 + 2000) -> ReleaseFetched:
    claims = release.claims_for(version, T0 // 1000 - 60, expires_s, SHA, 5000)
    return ReleaseFetched(now_ms, "u1", sign_release(key, claims).encode(), sha, 5000)


def events(effects: list[Effect]) -> list[tuple[str, dict[str, Any]]]:
    bodies = [json.loads(e.payload) for e in effects if isinstance(e, Publish) and e.topic.endswith("/event")]
    return [(b["event"], b.get("detail", {})) for b in bodies]


def of(kind: type, effects: list[Effect]) -> list[Any]:
    return [e for e in effects if isinstance(e, kind)]


def test_an_update_is_accepted_then_downloaded() -> None:
    effects = arrive(unit(), "update", URL, "u1", T0 + 1000)
    assert acks(effects) == [("u1", "accepted", "ok")]
    assert of(FetchRelease, effects) == [FetchRelease("u1", URL["url"], URL["sha256"])]
    assert [name for name, _ in events(effects)] == ["update_started"]


@pytest.mark.parametrize("boot, code", [
    ({"trust": None}, "update_disabled"),
    ({"supervised": False}, "update_unsupported"),
])
def test_a_unit_that_cannot_update_says_why_at_once(boot: dict[str, Any], code: str) -> None:
    effects = arrive(unit(**boot), "update", URL, "u1", T0 + 1000)
    assert acks(effects) == [("u1", "rejected", code)] and not of(FetchRelease, effects)


def test_a_second_update_while_one_runs_is_busy() -> None:
    device = unit()
    arrive(device, "update", URL, "u1", T0 + 1000)
    assert acks(arrive(device, "update", URL, "u2", T0 + 1500)) == [("u2", "rejected", "update_busy")]


@pytest.mark.parametrize("running, slot", [("base", "a"), ("a", "b"), ("b", "a")])
def test_a_checked_release_is_installed_into_the_slot_that_does_not_run(running: str, slot: str) -> None:
    device = unit(slot=running)
    arrive(device, "update", URL, "u1", T0 + 1000)
    effects = device.handle(fetched())
    assert [(e.update_id, e.slot, e.meta["version"]) for e in of(InstallRelease, effects)] == [("u1", slot, "0.2.0")]
    assert inactive_slot(running) == slot


def test_installed_asks_for_a_trial_restart_with_the_marker() -> None:
    device = unit(slot="a", version="0.2.0")
    arrive(device, "update", URL, "u1", T0 + 1000)
    device.handle(fetched("0.3.0"))
    effects = device.handle(ReleaseInstalled(T0 + 3000, "u1", "b"))
    assert acks(effects) == [("u1", "started", "ok")]
    assert of(StartTrial, effects) == [StartTrial({"jti": "u1", "version": "0.3.0", "slot": "b", "previous": "a",
                                                   "from_version": "0.2.0", "state": "pending"})]


@pytest.mark.parametrize("event, code", [
    (fetched(key=OKPKey.generate_key("Ed25519", parameters={"kid": "intruder"})), "release_unknown_key"),
    (fetched(key=OKPKey.generate_key("Ed25519", parameters={"kid": "rel"})), "release_bad_signature"),
    (fetched("0.1.0"), "release_old"),
    (fetched("0.0.9"), "release_old"),
    (fetched(expires_s=T0 // 1000 - 1), "release_expired"),
    (fetched(sha="ef" * 32), "release_corrupt"),
    (ReleaseFetched(T0 + 2000, "u1", b"garbage", SHA, 5000), "release_corrupt"),
    (ReleaseStepFailed(T0 + 2000, "u1", "hash_mismatch", "does not match"), "hash_mismatch"),
])
def test_every_refused_release_fails_the_command_with_its_code_and_installs_nothing(event: Any, code: str) -> None:
    device = unit()
    arrive(device, "update", URL, "u1", T0 + 1000)
    effects = device.handle(event)
    assert acks(effects) == [("u1", "failed", code)] and not of(InstallRelease, effects)
    assert events(effects)[0][0] == "update_failed" and events(effects)[0][1]["code"] == code
    assert acks(arrive(device, "ping", {}, "p", T0 + 3000))[-1] == ("p", "finished", "ok")  # the unit goes on


def test_a_clock_behind_the_command_does_not_make_an_expired_release_look_valid() -> None:
    device = unit()
    arrive(device, "update", URL, "u1", T0 + 1000)  # the command's iat is T0+1 s: time is at least that
    effects = device.handle(fetched(expires_s=T0 // 1000, now_ms=T0 - 86_400_000))
    assert acks(effects) == [("u1", "failed", "release_expired")]


def test_the_floor_is_the_newest_kept_version_or_the_running_one() -> None:
    assert floor_of({"release_floor": "0.3.0"}, "0.2.0") == "0.3.0"
    assert floor_of({"release_floor": "0.1.0"}, "0.2.0") == "0.2.0"
    assert floor_of({"release_floor": "junk"}, "0.2.0") == "0.2.0"
    device = unit(version="0.2.0", saved={"release_floor": "0.3.0"})
    arrive(device, "update", URL, "u1", T0 + 1000)
    assert acks(device.handle(fetched("0.3.0"))) == [("u1", "failed", "release_old")]


def test_a_late_answer_for_an_ended_update_is_ignored() -> None:
    device = unit()
    assert device.handle(ReleaseInstalled(T0, "nobody", "a")) == []


# ---- the new version's health check ----------------------------------------------------------------------------

MARKER = {"jti": "u1", "version": "0.2.0", "slot": "a", "previous": "base", "from_version": "0.1.0",
          "state": "trying"}


def trial_unit(**over: Any) -> tuple[Device, list[Effect]]:
    """A unit booting on trial: Started's effects are returned (LinkUp has not come yet)."""
    update = UpdateSettings(trust=TRUST, check_s=30, test_zone=1,
                            boot=BootInfo(slot="a", supervised=True, trial=MARKER | over))
    policy = Policy(device_id="d1", groups=frozenset({"g1"}), issuers=frozenset({"province"}))
    settings = DeviceSettings(device_id="d1", groups=("g1",), zones=(1, 2), version="0.2.0", policy=policy,
                              update=update)
    device = Device(settings, load_trust({"keys": [COMMAND_KEY.as_dict(private=False)]}), DeviceState(),
                    random.Random(7))
    return device, device.handle(Started(T0))


def test_a_healthy_trial_keeps_the_release_and_finishes_the_command() -> None:
    device, effects = trial_unit()
    assert relays(effects)[-1] == (1, True) and timers(effects)["upd:check"] == T0 + 30_000
    assert relays(device.handle(RelayObserved(T0 + 10, 1, True))) == [(1, False)]
    device.handle(RelayObserved(T0 + 20, 1, False))
    device.handle(LinkUp(T0 + 100))
    effects = device.handle(OutboxChanged(T0 + 200, 0))
    assert of(KeepRelease, effects) == [KeepRelease()]
    assert SaveSetting("release_floor", "0.2.0") in effects
    assert acks(effects) == [("u1", "finished", "ok")]
    assert [name for name, _ in events(effects)] == ["update_succeeded"]


def test_a_report_acknowledged_before_the_link_is_up_does_not_count() -> None:
    device, _ = trial_unit()
    device.handle(RelayObserved(T0 + 10, 1, True))
    device.handle(RelayObserved(T0 + 20, 1, False))
    assert not of(KeepRelease, device.handle(OutboxChanged(T0 + 30, 0)))
    assert not of(KeepRelease, device.handle(LinkUp(T0 + 40)))
    assert of(KeepRelease, device.handle(OutboxChanged(T0 + 50, 0)))


def test_a_relay_that_does_not_follow_fails_the_trial_and_asks_for_a_roll_back() -> None:
    device, _ = trial_unit()
    effects = device.handle(RelayObserved(T0 + 10, 1, False))
    (rollback,) = of(RollBack, effects)
    assert rollback.outcome["code"] == "update_check_failed" and "zone 1" in rollback.outcome["msg"]
    assert relays(effects) == [(1, False)]  # the tested relay is left off
    assert [name for name, _ in events(effects)] == ["relay_stuck", "update_check_failed"]  # the device's too


def test_a_trial_that_is_not_healthy_in_time_says_what_was_missing() -> None:
    device, _ = trial_unit()
    device.handle(RelayObserved(T0 + 10, 1, True))
    device.handle(RelayObserved(T0 + 20, 1, False))
    (rollback,) = of(RollBack, fire(device, "upd:check", T0 + 30_000))
    assert "connected" in rollback.outcome["msg"] and "relay" not in rollback.outcome["msg"]


@pytest.mark.parametrize("over", [{"slot": "b"}, {"state": "pending"}])
def test_a_marker_for_another_slot_or_not_yet_tried_starts_no_check(over: dict[str, Any]) -> None:
    _, effects = trial_unit(**over)
    assert "upd:check" not in timers(effects) and relays(effects) == [(1, False), (2, False)]


def test_after_a_roll_back_the_old_version_reports_the_command_failed_and_why() -> None:
    outcome = {"jti": "u1", "code": "update_check_failed", "msg": "relay path", "version": "0.2.0"}
    policy = Policy(device_id="d1", groups=frozenset({"g1"}), issuers=frozenset({"province"}))
    update = UpdateSettings(trust=TRUST, boot=BootInfo(slot="base", supervised=True, outcome=outcome))
    settings = DeviceSettings(device_id="d1", groups=("g1",), zones=(1, 2), version="0.1.0", policy=policy,
                              update=update)
    device = Device(settings, load_trust({"keys": [COMMAND_KEY.as_dict(private=False)]}), DeviceState(),
                    random.Random(7))
    effects = device.handle(Started(T0))
    assert acks(effects) == [("u1", "failed", "update_check_failed")]
    assert ("update_rolled_back", {"jti": "u1", "version": "0.2.0", "running": "0.1.0",
                                   "code": "update_check_failed", "msg": "relay path"}) in events(effects)
    assert effects.index(of(ClearOutcome, effects)[0]) > max(effects.index(e) for e in of(Publish, effects)
                                                            if e.durable)  # forgotten only once queued


def test_an_update_cut_short_by_a_restart_is_reported_failed_at_the_next_start() -> None:
    device = unit()
    effects = arrive(device, "update", URL, "u1", T0 + 1000)
    assert SaveSetting("update_job", {"jti": "u1"}) in effects
    _, effects = boot_unit(saved={"update_job": {"jti": "u1"}})  # the process died while downloading
    assert ("u1", "failed", "update_interrupted") in acks(effects)
    assert SaveSetting("update_job", None) in effects


@pytest.mark.parametrize("boot", [{"trial": MARKER, "slot": "a"},
                                  {"outcome": {"jti": "u1", "code": "update_no_start", "msg": "x"}}])
def test_an_update_carried_by_its_marker_is_not_reported_interrupted(boot: dict[str, Any]) -> None:
    _, effects = boot_unit("0.2.0", saved={"update_job": {"jti": "u1"}}, **boot)
    assert ("u1", "failed", "update_interrupted") not in acks(effects)
    assert SaveSetting("update_job", None) in effects


def test_the_job_is_kept_until_the_marker_is_written_and_forgotten_when_the_update_fails() -> None:
    device = unit()
    arrive(device, "update", URL, "u1", T0 + 1000)
    device.handle(fetched())
    effects = device.handle(ReleaseInstalled(T0 + 3000, "u1", "a"))
    assert of(StartTrial, effects) and not [e for e in effects if isinstance(e, SaveSetting)]
    device = unit()
    arrive(device, "update", URL, "u2", T0 + 1000)
    assert SaveSetting("update_job", None) in device.handle(ReleaseStepFailed(T0 + 2000, "u2", "x", "y"))
