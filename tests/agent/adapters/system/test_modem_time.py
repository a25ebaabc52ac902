"""The modem's time over real pySerial on a pty, against the scripted modem with noise (URCs, garbage, echo): the
cellular network's NITZ time (Quectel AT+QLTS=1, SIMCom AT+CCLK? after AT+CTZU=1) and GNSS (AT+QGPSLOC=2,
AT+CGPSINFO), with the answers a modem gives without NITZ or without a fix; and the poller feeding the clock."""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Iterator

import pytest

from agent.adapters.system.modem_at import ModemAT
from agent.adapters.system.modem_time import cgpsinfo_ms, network_time_ms, qgpsloc_ms
from agent.app import hardware
from agent.app.hardware import PartFault, open_modem
from agent.catalog.boards import load_modem
from agent.core.backoff import Backoff
from agent.fakes.scripted_modem import ScriptedModem

TIMEOUT_S = 1.5
YEAR_S = 365 * 86400
DIALECTS = ("quectel-ec25", "simcom-sim7600")


@pytest.fixture
def modem() -> Iterator[ScriptedModem]:
    m = ScriptedModem(noise=True).start()
    yield m
    m.stop()


def port(modem: ScriptedModem, name: str, *, gnss: bool) -> ModemAT:
    """The modem from its hw/ data; `gnss`: as on a variant with a GNSS receiver (the data's `gnss = true`)."""
    at = open_modem(modem.path, name, timeout_s=TIMEOUT_S)
    assert not at.profile.gnss_time  # the data says `gnss = false`: no GNSS unless a variant has one
    if gnss:
        p = load_modem(name)
        at.profile = dataclasses.replace(at.profile, gnss_on=p.gnss_on, gnss_time=p.gnss_time,
                                         gnss_reply=p.gnss_reply, gnss_format=p.gnss_format)
    return at


def readings(at: ModemAT) -> dict[str, tuple[int, int]]:
    got: dict[str, tuple[int, int]] = {}
    at.observe_time(lambda source, ms, err: got.__setitem__(source, (ms, err)))
    return got


@pytest.mark.parametrize("name", DIALECTS)
@pytest.mark.parametrize("offset_s", [0.0, -YEAR_S, 10 * YEAR_S, 90.0])  # the network's time, however wrong
def test_network_time_is_read_in_both_dialects(modem: ScriptedModem, name: str, offset_s: float) -> None:
    modem.script.network_offset_s = offset_s
    at = port(modem, name, gnss=False)
    try:
        got = readings(at)
    finally:
        at.close()
    ms, error_ms = got["network"]
    assert abs(ms - (time.time() + offset_s) * 1000) <= 1500 and error_ms == 2000
    assert "gps" not in got
    assert ("AT+CTZU=1" in modem.received) is (name == "simcom-sim7600")


@pytest.mark.parametrize("name", DIALECTS)
def test_no_nitz_and_no_fix_give_no_reading(modem: ScriptedModem, name: str) -> None:
    modem.script.network_offset_s, modem.script.gnss_offset_s = None, None
    at = port(modem, name, gnss=True)
    try:
        assert readings(at) == {}
    finally:
        at.close()


@pytest.mark.parametrize("name", DIALECTS)
def test_gnss_time_where_the_modem_has_a_fix(modem: ScriptedModem, name: str) -> None:
    modem.script.network_offset_s, modem.script.gnss_offset_s = None, 0.0
    at = port(modem, name, gnss=True)
    try:
        got = readings(at)
    finally:
        at.close()
    ms, error_ms = got["gps"]
    assert abs(ms - time.time() * 1000) <= 1500 and error_ms == 1000 and "network" not in got


@pytest.mark.parametrize("text", ['""', '"80/01/06,00:01:23+00"', '"00/01/01,00:00:00+00"', '"04/01/01,12:00:00+28"',
                                  '"2026/13/07,09:12:30+28,0"', '"garbage"', ""])
def test_implausible_or_broken_network_times_are_no_time(text: str) -> None:
    assert network_time_ms(text, local=True) is None and network_time_ms(text, local=False) is None


def test_network_time_zones() -> None:
    utc = network_time_ms('"2026/12/07,09:12:30+28,0"', local=False)
    assert utc == network_time_ms('"26/12/07,16:12:30+28"', local=True) == 1796634750500
    assert network_time_ms('"26/12/07,04:12:30-20"', local=True) == utc  # UTC-5 local time


def test_gnss_answers() -> None:
    quectel = "091230.0,21.02851,105.85420,1.2,15.0,3,0.00,0.0,0.0,071226,08"
    simcom = "2101.71,N,10551.25,E,071226,091230.0,15.0,0.0,0.0"
    assert qgpsloc_ms(quectel.split(",")) == cgpsinfo_ms(simcom.split(",")) == 1796634750000
    assert cgpsinfo_ms([""] * 9) is None and qgpsloc_ms(["516"]) is None


def test_the_poller_feeds_the_clock_after_the_telemetry(modem: ScriptedModem) -> None:
    modem.script.network_offset_s = -1000.0
    at = port(modem, "quectel-ec25", gnss=False)
    posted: list[object] = []
    observed: list[tuple[str, int, int]] = []
    fault = PartFault(lambda active, detail: None)
    try:
        wait = hardware.poll_once(at, posted.append, fault, Backoff(1, 60, random.Random(1)), 60.0,
                                  lambda s, ms, err: observed.append((s, ms, err)))
    finally:
        at.close()
    assert wait == 60.0 and len(posted) == 1
    assert [s for s, _, _ in observed] == ["network"] and abs(observed[0][1] - (time.time() - 1000) * 1000) < 1500
