"""Modem telemetry over real pySerial on a pty, against a scripted Quectel EC25 (agent/fakes/scripted_modem.py):
echo, URCs and garbage, ERROR answers, silence; and the reading reaching the heartbeat through the core."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from agent.adapters.system.modem_at import ModemAT, signal_dbm
from agent.app.hardware import open_modem
from agent.core.effects import Publish
from agent.core.events import Telemetry, TimerFired
from agent.errors import HardwareError
from agent.fakes.scripted_modem import ModemScript, ScriptedModem
from tests.agent.core.device_helpers import T0, make_device

TIMEOUT_S = 1.5  # generous: a loaded 2-core machine once missed a 0.3 s answer
MODEM = "quectel-ec25"  # the default [hardware] modem


@pytest.fixture
def modem() -> Iterator[ScriptedModem]:
    m = ScriptedModem(noise=True).start()
    yield m
    m.stop()


@pytest.fixture
def at(modem: ScriptedModem) -> Iterator[ModemAT]:
    a = open_modem(modem.path, MODEM, timeout_s=TIMEOUT_S)
    yield a
    a.close()


@pytest.mark.parametrize(("rssi", "dbm"), [(0, -113), (1, -111), (18, -77), (31, -51), (99, None), (100, -116),
                                           (191, -25), (199, None), (32, None)])
def test_csq_rssi_to_dbm(rssi: int, dbm: int | None) -> None:
    assert signal_dbm(rssi) == dbm


def test_query_through_echo_urcs_and_garbage(modem: ScriptedModem, at: ModemAT) -> None:
    assert at.query() == {"signal_dbm": -77, "operator": "Viettel", "registration": "home",
                          "iccid": "89840480001234567890"}
    assert modem.received[:2] == ["ATE0", "AT+CSQ"]  # the echo of ATE0 itself was skipped
    assert modem.noise_sent >= 3


def test_the_same_reading_under_many_noise_patterns() -> None:
    readings = []
    for seed in range(12):
        modem = ScriptedModem(noise=True, seed=seed).start()
        try:
            readings.append(open_modem(modem.path, MODEM, timeout_s=TIMEOUT_S).query())
        finally:
            modem.stop()
    assert all(r == readings[0] for r in readings) and readings[0]["operator"] == "Viettel"


@pytest.mark.parametrize(("cereg", "creg", "expected"), [
    (1, 0, "home"), (5, 1, "roaming"), (0, 5, "roaming"), (2, 2, "searching"), (3, 0, "denied"), (4, 4, "unknown"),
])
def test_registration_prefers_a_registered_answer(modem: ScriptedModem, at: ModemAT, cereg: int, creg: int,
                                                  expected: str) -> None:
    modem.script.cereg, modem.script.creg = cereg, creg
    assert at.query()["registration"] == expected


def test_unknown_signal_no_operator_and_no_sim_are_none(modem: ScriptedModem, at: ModemAT) -> None:
    modem.script.rssi, modem.script.operator = 99, ""
    modem.script.replies["AT+QCCID"] = ["+CME ERROR: 10"]  # SIM not inserted
    assert at.query() == {"signal_dbm": None, "operator": None, "registration": "home", "iccid": None}


def test_a_plain_error_leaves_only_that_field_unknown(modem: ScriptedModem, at: ModemAT) -> None:
    modem.script.replies["AT+COPS?"] = ["ERROR"]
    reading = at.query()
    assert reading["operator"] is None and reading["signal_dbm"] == -77


def test_a_silent_modem_is_a_hardware_error_and_the_next_query_recovers(modem: ScriptedModem, at: ModemAT) -> None:
    modem.silent.add("AT+CSQ")
    start = time.monotonic()
    with pytest.raises(HardwareError, match=r"modem /dev/pts/\d+: no answer to AT\+CSQ within 1\.5 s"):
        at.query()
    assert time.monotonic() - start < TIMEOUT_S + 1.0  # the timeout bounds the wait
    modem.silent.clear()
    assert at.query()["signal_dbm"] == -77


def test_the_simcom_profile_reads_its_own_iccid_command() -> None:
    script = ModemScript(iccid_command="AT+CICCID", iccid_reply="+ICCID:", iccid="8984040000000000123F")
    modem = ScriptedModem(script).start()
    try:
        reading = open_modem(modem.path, "simcom-sim7600").query()
    finally:
        modem.stop()
    assert reading["iccid"] == "8984040000000000123"  # the padding F is not a digit of the ICCID


def test_a_missing_port_is_a_hardware_error_keeping_pyserial_s_message() -> None:
    with pytest.raises(HardwareError, match=r"modem /dev/ttyLOA-missing: open: \[Errno 2\]"):
        open_modem("/dev/ttyLOA-missing", MODEM).query()


def test_the_reading_rides_on_the_heartbeat(at: ModemAT) -> None:
    device = make_device()
    device.handle(Telemetry(T0 + 1000, at.query()))
    beats = [e for e in device.handle(TimerFired(T0 + 60_000, "hb")) if isinstance(e, Publish) and
             e.topic.endswith("/hb")]
    assert json.loads(beats[0].payload)["sig"] == -77
