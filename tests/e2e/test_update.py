"""Signed updates end to end: a real broker, real agent processes under agent.app.launcher (standing in for systemd),
bundles built by `loa release build` and served over HTTP. A good release installs, restarts and reports its
version; every bad one leaves the unit on its previous version and says why."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import agent
from agent.adapters.system.release_slots import ReleaseSlots
from province.console import Console
from province.keys import load_signing
from tests.conftest import Unit
from tests.e2e.link_helpers import UnitWatch
from tests.e2e.update_helpers import UPDATE, Releases, corrupt_payload, launch, serve

BASE = agent.__version__
TERMINAL = {"finished", "failed", "rejected"}


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Releases:
    return Releases(tmp_path_factory.mktemp("releases"))


@pytest.fixture
def launched(make_unit: Callable[..., Unit], console: Console, releases: Releases) -> Iterator[UnitWatch]:
    unit = make_unit(start=False, release_trust=releases.trust, update=UPDATE, mqtt={"reconnect_max_s": 2.0})
    watch = UnitWatch(console, unit)
    launch(unit)
    watch.wait_online(20)
    yield watch


def update(watch: UnitWatch, keys: Path, args: dict[str, str], timeout: float = 40) -> tuple[list[str], dict[str, Any]]:
    jti = watch.send(load_signing(keys / "signing.jwk"), "update", args)
    watch.wait_acks(jti, TERMINAL, timeout)
    return distinct_states(watch, jti), watch.acks(jti)[-1]


def distinct_states(watch: UnitWatch, jti: str) -> list[str]:
    """Ack states in order, each report once: the outbox delivers at least once, so a restart may send one again."""
    seen: dict[tuple[str, int], str] = {}
    for ack in watch.acks(jti):
        seen.setdefault((ack["state"], ack["ts"]), ack["state"])
    return list(seen.values())


def started_versions(watch: UnitWatch) -> list[str]:
    return [e["detail"]["ver"] for e in watch.of("event") if e["event"] == "started"]


def settle(watch: UnitWatch, version: str) -> None:
    """The retained status, once it shows `version` online."""
    ok = watch.pump(20, lambda: watch.last_status().get("ver") == version and watch.last_status().get("online"))
    assert ok, (watch.last_status(), watch.unit.output()[-3000:])


def test_a_good_release_installs_restarts_and_reports_its_version(launched: UnitWatch, keys: Path,
                                                                   releases: Releases, http_server) -> None:
    assert launched.last_status()["ver"] == BASE
    states, last = update(launched, keys, serve(http_server, releases.build("0.2.0")))
    assert states == ["accepted", "started", "finished"], (states, launched.unit.output()[-3000:])
    assert "0.2.0" in last["msg"]
    settle(launched, "0.2.0")
    names = [e["event"] for e in launched.of("event")]
    for step in ("update_started", "update_verified", "update_installed", "update_checking", "update_succeeded"):
        assert step in names, names
    slots = ReleaseSlots(launched.unit.dir / "state" / "releases")
    assert slots.current() == "a" and slots.read_trial() is None and slots.read_outcome() is None
    assert started_versions(launched) == [BASE, "0.2.0"]


def test_bad_releases_are_refused_with_their_reason_and_the_unit_keeps_its_version(
        launched: UnitWatch, keys: Path, releases: Releases, http_server) -> None:
    good = releases.build("0.9.0")
    cases = {
        "release_unknown_key": releases.build("0.6.0", key=releases.other_key()),
        "release_old": releases.build("0.0.9"),
        "release_expired": releases.build("0.5.0", now_s=int(time.time()) - 10 * 86400, expires_days=1),
        "release_corrupt": corrupt_payload(releases.build("0.7.0")),
    }
    for code, bundle in cases.items():
        states, last = update(launched, keys, serve(http_server, bundle), timeout=20)
        assert (states, last["code"]) == (["accepted", "failed"], code), (code, last)
        assert last["msg"], code
    states, last = update(launched, keys, serve(http_server, good, body=corrupt_payload(good).read_bytes()))
    assert (states, last["code"]) == (["accepted", "failed"], "hash_mismatch"), last  # damaged on the way
    assert launched.last_status()["ver"] == BASE and started_versions(launched) == [BASE]
    assert ReleaseSlots(launched.unit.dir / "state" / "releases").current() == "base"

    def failed() -> list[str]:
        return [e["detail"]["code"] for e in launched.of("event") if e["event"] == "update_failed"]

    launched.pump(5, lambda: len(failed()) == len(cases) + 1)
    assert failed() == [*cases, "hash_mismatch"]


def test_a_release_that_fails_its_health_check_is_rolled_back(launched: UnitWatch, keys: Path,
                                                              releases: Releases, http_server) -> None:
    """A regression in relay control: the new version's read-back never sees a relay on."""
    broken = releases.build("0.3.0", patch={"fakes/relays.py": lambda text: text.replace(
        "        return self.states[zone]", "        return False  # the regression")})
    states, last = update(launched, keys, serve(http_server, broken))
    assert states == ["accepted", "started", "failed"], (states, launched.unit.output()[-3000:])
    assert last["code"] == "update_check_failed" and "relay path" in last["msg"], last
    settle(launched, BASE)
    assert started_versions(launched) == [BASE, "0.3.0", BASE]
    assert "update_rolled_back" in [e["event"] for e in launched.of("event")]
    slots = ReleaseSlots(launched.unit.dir / "state" / "releases")
    assert slots.current() == "base" and slots.read_trial() is None and slots.read_outcome() is None


def test_a_release_that_does_not_start_is_rolled_back(launched: UnitWatch, keys: Path, releases: Releases,
                                                      http_server) -> None:
    dead = releases.build("0.4.0", patch={"__main__.py": lambda text: text.replace(
        "def main(", "raise SystemExit('broken build')\n\n\ndef main(")})
    states, last = update(launched, keys, serve(http_server, dead))
    assert states == ["accepted", "started", "failed"], (states, launched.unit.output()[-3000:])
    assert last["code"] == "update_no_start" and "exit code 1" in last["msg"], last
    settle(launched, BASE)
    assert started_versions(launched) == [BASE, BASE]


def test_a_release_that_hangs_is_stopped_at_the_launchers_deadline_and_rolled_back(
        make_unit: Callable[..., Unit], console: Console, keys: Path, releases: Releases, http_server) -> None:
    unit = make_unit(start=False, release_trust=releases.trust, update=UPDATE | {"check_s": 5, "start_s": 10},
                     mqtt={"reconnect_max_s": 2.0})
    watch = UnitWatch(console, unit)
    launch(unit)
    watch.wait_online(20)
    hung = releases.build("0.4.1", patch={"__main__.py": lambda text: text.replace(
        "def main(", "import time\ntime.sleep(3600)\n\n\ndef main(")})
    states, last = update(watch, keys, serve(http_server, hung), timeout=45)
    assert states == ["accepted", "started", "failed"], (states, unit.output()[-3000:])
    assert last["code"] == "update_no_start" and "within 10 s" in last["msg"], last
    settle(watch, BASE)
