"""The short fault campaign (CI): one seeded run of each fault kind (the hostile ones of tests/fault/hostile.py too)
against a real agent process, a real Mosquitto and a real HTTP server, each checked against every invariant, and
each checked to have really hit the unit (a fault that does nothing would make the invariants pass for nothing).
The long form is tests/fault/campaign.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.fault import invariants as inv
from tests.fault.netcut import Netns
from tests.fault.rig import Rig
from tests.fault.run import Run, execute

SECONDS = 2.5
LINK_LOST = "Lost the connection to the provincial server"


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    r = Rig(tmp_path_factory.mktemp("fault"), seed=7)
    yield r
    r.close()


def first_status(run: Run) -> dict[str, object]:
    statuses = inv.decoded(run.rig.recorder.of(run.unit.device_id), "status")
    return next((s for s in statuses if s.get("online")), {})


def codes(run: Run) -> set[str]:
    return {str(a.get("code")) for a in inv.decoded(run.rig.recorder.of(run.unit.device_id), "ack")}


def rejected(run: Run) -> int:
    return sum(1 for a in inv.decoded(run.rig.recorder.of(run.unit.device_id), "ack") if a["state"] == "rejected")


# What each fault must have visibly done to the unit.
HIT: dict[str, Callable[[Run], bool]] = {
    "kill9": lambda run: run.counts["kills"] >= 1 and len(run.starts) >= 2,
    "broker": lambda run: LINK_LOST in run.unit.output(),
    "netcut": lambda run: LINK_LOST in run.unit.output(),
    "netns": lambda run: LINK_LOST in run.unit.output(),
    "diskfull": lambda run: "SQLITE_FULL" in run.unit.output() or "disk is full" in run.unit.output(),
    "clock": lambda run: first_status(run).get("clock_synced") is False,
    "storm": lambda run: rejected(run) >= 200,
    "relays": lambda run: run.counts["relay_faults"] >= 1 and "Cannot switch or read the relays" in run.unit.output(),
    "takeover": lambda run: run.counts["takeover_attempts"] >= 2 and "as fault-intruder" in run.rig.broker_log(),
    "sources": lambda run: bool(codes(run) & {"redirect_refused", "source_refused", "download_timeout"}),
    "pages": lambda run: run.counts["page_answer_400"] >= 1 and run.counts["slow_clients"] >= 1,
}


@pytest.mark.parametrize("kind", sorted(HIT))
def test_no_fault_breaks_an_invariant(rig: Rig, kind: str) -> None:
    if kind == "netns" and not Netns.available():
        pytest.skip("`ip netns add` fails on this machine (not root, or no namespaces): the forwarder cut covers it")
    index = sorted(HIT).index(kind)
    run = execute(rig, index, kind, seed=1000 + index, seconds=SECONDS)
    assert run.violations == [], "\n".join(run.violations)
    assert HIT[kind](run), f"the {kind} fault left no trace: {run.unit.output()[-1500:]}"
    assert run.counts["valid"] > 0 and run.counts["reports_received"] > 0


def test_the_long_campaign_is_seeded_and_covers_every_kind() -> None:
    from tests.fault import campaign
    from tests.fault.run import KINDS

    plan = campaign.plan(2 * len(KINDS), KINDS, seed=1)
    assert plan == campaign.plan(2 * len(KINDS), KINDS, seed=1) != campaign.plan(2 * len(KINDS), KINDS, seed=2)
    assert {kind for kind, _ in plan} == set(KINDS)
