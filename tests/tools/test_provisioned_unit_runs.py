"""Wired, not just written: a unit provisioned by `loa provision --hw lcus-2 --serial-port ... --modem ...
--modem-port ...` runs as it is. The real agent process, from that bundle, switches the simulated LCUS module's
relay on a signed command and reports the scripted modem's signal."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.fakes.lcus_module import LcusModuleSim
from agent.fakes.scripted_modem import ModemScript, ScriptedModem
from province.console import Console
from province.keys import load_signing
from tests.conftest import Broker, Unit, wait_until
from tests.e2e.link_helpers import UnitWatch
from tools import cli


@pytest.fixture
def lcus() -> Iterator[LcusModuleSim]:
    sim = LcusModuleSim(relays=2).start()
    yield sim
    sim.stop()


@pytest.fixture
def modem() -> Iterator[ScriptedModem]:
    scripted = ScriptedModem(ModemScript(rssi=17)).start()
    yield scripted
    scripted.stop()


def test_a_bundle_for_a_real_board_and_modem_drives_them(tmp_path: Path, keys: Path, broker: Broker,
                                                        console: Console, lcus: LcusModuleSim,
                                                        modem: ScriptedModem) -> None:
    assert cli.main(["--lang", "en", "provision", "lcus-unit", "--trust", str(keys / "trust.jwks"), "--broker",
                     broker.url, "--broker-dir", str(broker.dir), "--out", str(tmp_path / "lcus-unit"),
                     "--group", "xa-lcus", "--quiet-hours", "off", "--status-port", "0",
                     "--hw", "lcus-2", "--serial-port", lcus.url,
                     "--modem", "quectel-ec25", "--modem-port", modem.path]) == 0
    unit = Unit("lcus-unit", tmp_path / "lcus-unit")
    unit.start()
    try:
        watch = UnitWatch(console, unit)
        watch.wait_online()
        jti = watch.send(load_signing(keys / "signing.jwk"), "relay", {"zone": 2, "on": True, "for_s": 60})
        assert "started" in watch.wait_acks(jti, {"started"}), unit.output()
        assert wait_until(lambda: lcus.module.states[2], 3), unit.output()
        assert lcus.module.states[1] is False
        assert watch.pump(20, lambda: "modem" in watch.last_status()), unit.output()
    finally:
        unit.stop(signal.SIGKILL)
