"""The real agent process driving the real firmware logic (firmware/host.py over socket://): a signed relay
command switches the co-processor's relay; the agent killed, the co-processor's fail-safe cuts it within 3 s;
the measured output level reaches the play log."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware.host import HostBoard, HostServer
from province.console import Console
from province.keys import load_signing
from tests.conftest import wait_until
from tests.e2e.link_helpers import UnitWatch

CUT_S = 3.0


@pytest.fixture
def coproc() -> Iterator[HostServer]:
    server = HostServer(board=HostBoard(relay_count=4, sensor_count=2)).start()
    yield server
    server.stop()


def coproc_unit(make_unit, coproc: HostServer):
    return make_unit(hardware={"relays": "board", "board": "pico-coproc", "serial_url": coproc.url, "zones": [1, 2]},
                     audio={"output": "null", "quiet_hours": "off", "warmup_s": 0.2, "tail_s": 0.3})


def test_agent_switches_the_coproc_relay_and_its_death_cuts_it(make_unit, console: Console, keys: Path,
                                                                coproc: HostServer):
    unit = coproc_unit(make_unit, coproc)
    watch = UnitWatch(console, unit)
    watch.wait_online()
    jti = watch.send(load_signing(keys / "signing.jwk"), "relay", {"zone": 1, "on": True, "for_s": 60})
    assert "started" in watch.wait_acks(jti, {"started"})
    assert wait_until(lambda: coproc.board.pins[0].value() == 1, 3), unit.output()
    unit.stop(signal.SIGKILL)
    killed = time.monotonic()
    assert wait_until(lambda: coproc.board.pins[0].value() == 0, 5)
    assert time.monotonic() - killed < CUT_S


def test_measured_level_from_the_coproc_is_proof_of_play(make_unit, console: Console, keys: Path,
                                                         coproc: HostServer):
    unit = coproc_unit(make_unit, coproc)
    watch = UnitWatch(console, unit)
    console.subscribe(console.topics.report(unit.device_id, "playlog"))
    watch.wait_online()
    jti = watch.send(load_signing(keys / "signing.jwk"), "play",
                     {"source": {"tts": "Thử loa. Một, hai, ba, bốn, năm, sáu, bảy, tám.", "lang": "vi"},
                      "zones": [1]})  # several seconds: the level is sampled once a second
    assert watch.wait_acks(jti, {"finished", "failed"}, timeout=20)[-1] == "finished"
    watch.pump(3, lambda: bool(watch.of("playlog")))
    log = watch.of("playlog")[0]
    assert log["relay_confirmed"] is True and log["level_dbfs"] == pytest.approx(-12.0, abs=0.5)


def test_the_modems_signal_appears_in_the_heartbeat_and_its_operator_in_status(make_unit, console: Console):
    from agent.fakes.scripted_modem import ModemScript, ScriptedModem

    modem = ScriptedModem(ModemScript(rssi=20), noise=True).start()
    try:
        unit = make_unit(hardware={"modem": "quectel-ec25", "modem_url": modem.path, "modem_poll_s": 5},
                         reports={"heartbeat_s": 5})
        watch = UnitWatch(console, unit)
        watch.wait_online()
        assert watch.pump(12, lambda: any("sig" in hb for hb in watch.of("hb"))), unit.output()
        assert next(hb["sig"] for hb in watch.of("hb") if "sig" in hb) == -113 + 2 * 20
        assert watch.pump(3, lambda: "modem" in watch.last_status())
        assert watch.last_status()["modem"]["registration"] in ("home", "roaming")
    finally:
        modem.stop()
