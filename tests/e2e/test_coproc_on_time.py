"""The co-processor's maximum on-time with a real agent process and the real firmware logic on the host
(firmware/host.py over socket://), its max-on time configured short (3 s, and the agent told so): an emergency
stream keeps its relays on through renewals long past it; a normal stream is cut at it; and a killed agent still
loses its relays to the heartbeat fail-safe within 3 s, renewals or not."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware import wire
from firmware.host import HostBoard, HostServer
from province.console import Console
from province.keys import load_signing
from tests.conftest import wait_until
from tests.e2e.link_helpers import UnitWatch
from tests.e2e.sound_helpers import LOCAL_STREAMS

MAX_ON_S = 3.0
CUT_S = 3.0


class Renewals:
    """The EMERGENCY_RENEW requests the firmware executed, by the host's clock (a spy on its handler table)."""

    def __init__(self, server: HostServer) -> None:
        self.at: list[float] = []
        handlers = server.board.node._handlers
        handle = handlers[wire.EMERGENCY_RENEW]

        def spy(payload: bytes, now: int) -> tuple[int, bytes]:
            self.at.append(time.monotonic())
            return handle(payload, now)

        handlers[wire.EMERGENCY_RENEW] = spy


@pytest.fixture
def coproc() -> Iterator[HostServer]:
    server = HostServer(board=HostBoard(relay_count=4, sensor_count=2, max_on_ms=int(MAX_ON_S * 1000))).start()
    yield server
    server.stop()


def short_max_on_unit(make_unit, coproc: HostServer):
    return make_unit(hardware={"relays": "board", "board": "pico-coproc", "serial_url": coproc.url, "zones": [1, 2],
                               "coproc_max_on_s": int(MAX_ON_S)},
                     audio={"output": "null", "quiet_hours": "off", "warmup_s": 0.2, "tail_s": 0.3, "stagger_s": 0.1},
                     sources=LOCAL_STREAMS)


def relays_on(coproc: HostServer) -> bool:
    return coproc.board.pins[0].value() == 1 and coproc.board.pins[1].value() == 1


def on_spell(coproc: HostServer, timeout: float) -> float:
    """How long both relays stay on from now (sampled every 20 ms), up to `timeout`."""
    start = time.monotonic()
    while relays_on(coproc) and time.monotonic() - start < timeout:
        time.sleep(0.02)
    return time.monotonic() - start


def test_an_emergency_stream_keeps_its_relays_on_past_max_on_and_a_killed_agent_still_loses_them(
        make_unit, console: Console, keys: Path, coproc: HostServer, live_server):
    renewals = Renewals(coproc)
    unit = short_max_on_unit(make_unit, coproc)
    watch = UnitWatch(console, unit)
    watch.wait_online()
    url, _ = live_server()
    jti = watch.send(load_signing(keys / "signing.jwk"), "play", {"source": {"stream": url}, "priority": "emergency"})
    assert watch.wait_acks(jti, {"started", "failed"}, timeout=15)[-1] == "started", watch.acks(jti)
    assert wait_until(lambda: relays_on(coproc), 3), unit.output()
    on_since = time.monotonic()
    held = on_spell(coproc, 3.5 * MAX_ON_S)
    gaps = [round(b - a, 2) for a, b in zip(renewals.at, renewals.at[1:], strict=False)]
    trips = coproc.board.node.counters.values()[wire.C_MAX_ON_TRIPS]
    print(f"emergency stream: relays on {held:.1f} s (max-on {MAX_ON_S} s), {len(renewals.at)} renewals, "
          f"gaps {gaps}; firmware max_on_trips {trips}")
    assert held >= 3.5 * MAX_ON_S - 0.1 and trips == 0, unit.output()
    assert watch.states(jti)[-1] == "started"  # still playing: not cut by the unit's limit either
    assert len([t for t in renewals.at if t >= on_since]) >= 3 * MAX_ON_S / (MAX_ON_S / 3) - 1
    assert max(gaps) < MAX_ON_S / 2
    unit.stop(signal.SIGKILL)
    killed = time.monotonic()
    assert wait_until(lambda: coproc.board.pins[0].value() == 0 and coproc.board.pins[1].value() == 0, 5)
    cut_s = time.monotonic() - killed
    print(f"killed agent: relays cut {cut_s:.2f} s after SIGKILL")
    assert cut_s < CUT_S


def test_a_normal_stream_is_still_cut_at_max_on(make_unit, console: Console, keys: Path, coproc: HostServer,
                                                live_server):
    renewals = Renewals(coproc)
    unit = short_max_on_unit(make_unit, coproc)
    watch = UnitWatch(console, unit)
    watch.wait_online()
    url, _ = live_server()
    jti = watch.send(load_signing(keys / "signing.jwk"), "play", {"source": {"stream": url}})
    assert wait_until(lambda: coproc.board.pins[0].value() == 1, 10), unit.output()
    held = on_spell(coproc, 3 * MAX_ON_S) if wait_until(lambda: relays_on(coproc), 1) else 0.0
    print(f"normal stream: relays on {held:.2f} s (max-on {MAX_ON_S} s), {len(renewals.at)} renewals")
    assert MAX_ON_S - 0.5 < held < MAX_ON_S + 0.5
    assert watch.wait_acks(jti, {"failed", "finished"}, timeout=5)[-1] == "failed"
    assert watch.acks(jti)[-1]["code"] == "max_on_time" and renewals.at == []
