"""The composition root: the adapters reach the runtime as one typed bundle at construction, nothing is set on the
runtime afterwards, the runtime closes no part it did not make, and closing the agent stops every part (relays off,
store closed) in reverse order of starting."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest

from agent import app
from agent.config import unit as config
from agent.core.device import Device, DeviceSettings, DeviceState
from agent.core.verify import Policy, load_trust
from agent.errors import StoreError
from agent.fakes.relays import FakeRelays
from agent.runtime.agent_runtime import AgentRuntime
from agent.runtime.loop import Loop
from agent.runtime.parts import Inbox, Parts
from agent.runtime.trusted_clock import TrustedClock
from province import keys
from tests.agent.core.device_helpers import KEY
from tests.agent.runtime.test_store_faults import Clock, FullDiskStore
from tools.provision import UnitSpec, provision

APP = Path(app.__file__).parent


def device() -> Device:
    policy = Policy(device_id="d1", groups=frozenset(), issuers=frozenset({"province"}))
    return Device(DeviceSettings(device_id="d1", groups=(), zones=(1,), version="t", policy=policy),
                  load_trust({"keys": [KEY.as_dict(private=False)]}), DeviceState(), random.Random(1))


def test_the_root_sets_nothing_on_the_runtime_after_making_it() -> None:
    for source in APP.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                assert not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                            and target.value.id == "runtime"), f"{source.name}:{node.lineno}"


def test_the_runtime_leaves_the_parts_to_their_maker() -> None:
    relays, loop = FakeRelays((1, 2)), Loop()
    rt = AgentRuntime(device(), loop, Parts(relays=relays, store=FullDiskStore(), clock=TrustedClock(Clock())))
    relays.set(1, True)
    rt.stop(b"{}", "loa/v1/dev/d1/status")
    assert relays.states == {1: True, 2: False} and len(relays.history) == 1  # not switched off by the runtime
    loop.close()


def test_an_inbox_serves_the_runtime_made_with_it_and_no_other() -> None:
    loop = Loop()
    inbox = Inbox(loop)
    parts = Parts(relays=FakeRelays((1,)), store=FullDiskStore(), clock=TrustedClock(Clock()))
    AgentRuntime(device(), loop, parts, inbox=inbox)
    with pytest.raises(RuntimeError, match="one runtime"):
        AgentRuntime(device(), loop, parts, inbox=inbox)
    loop.close()


def test_closing_the_agent_stops_every_part(tmp_path: Path) -> None:
    keys.init(tmp_path / "keys")
    cfg = config.load(provision(UnitSpec(device_id="u1", trust=tmp_path / "keys" / "trust.jwks", out=tmp_path / "u1",
                                         broker_url="mqtt://127.0.0.1:9")))
    with app.build(cfg) as agent:
        parts = agent.parts
        assert agent.runtime.parts is parts and agent.runtime.relays is parts.relays and parts.link is not None
        assert parts.player is not None and parts.preparer is not None and parts.updater is not None
        assert isinstance(parts.relays, FakeRelays)
        parts.relays.set(1, True)
    assert parts.relays.states[1] is False
    with pytest.raises(StoreError, match="closed database"):
        agent.store.outbox_count()


def test_the_first_boots_outcome_beside_the_config_goes_into_the_status(tmp_path: Path) -> None:
    keys.init(tmp_path / "keys")
    cfg = config.load(provision(UnitSpec(device_id="u2", trust=tmp_path / "keys" / "trust.jwks", out=tmp_path / "u2",
                                         broker_url="mqtt://127.0.0.1:9")))
    trust = load_trust({"keys": [KEY.as_dict(private=False)]})
    assert "install" not in Device(app.device_settings(cfg, {}), trust, DeviceState(), random.Random(1)).status(0)
    (tmp_path / "u2" / app.FIRST_BOOT).write_text(
        '{"result": "ok", "detail": "", "at": "2026-12-07T17:19:47Z", "loa": "0.1.0", "other": 1}\n')
    status = Device(app.device_settings(cfg, {}), trust, DeviceState(), random.Random(1)).status(0)
    assert status["install"] == {"result": "ok", "detail": "", "at": "2026-12-07T17:19:47Z", "loa": "0.1.0"}
