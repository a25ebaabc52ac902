"""The co-processor's and the modem's duties: a failure is the part's fault, reported once when it appears and once
when it clears, and the duty goes on (the modem's next query after a capped backoff)."""

from __future__ import annotations

import contextlib
import random
import time

from agent.app import hardware
from agent.core.backoff import Backoff
from agent.core.events import Event, Fault, Telemetry
from agent.errors import HardwareError
from agent.runtime.loop import Loop


class Flaky:
    """A duty that fails while `down` (like a co-processor that misses its replies)."""

    def __init__(self) -> None:
        self.down, self.calls = True, 0

    def __call__(self) -> None:
        self.calls += 1
        if self.down:
            raise HardwareError("coproc socket://127.0.0.1:1: no reply to HEARTBEAT (seq 3) within 0.25 s")


def test_a_duty_that_fails_is_one_fault_until_it_works_again() -> None:
    loop, seen = Loop(), list[Event]()
    fault = hardware.PartFault(lambda active, detail: seen.append(Fault(0, "coproc", active, detail)))
    duty = Flaky()
    hardware.every(loop, 0.01, duty, fault)
    deadline = time.monotonic() + 2
    while duty.calls < 5 and time.monotonic() < deadline:
        loop.run_once(0.01)
    duty.down = False
    while duty.calls < 10 and time.monotonic() < deadline:
        loop.run_once(0.01)
    loop.close()
    assert [(f.active, "HEARTBEAT" in f.detail) for f in seen if isinstance(f, Fault)] == [(True, True), (False, False)]


class Modem:
    def __init__(self) -> None:
        self.down = True

    def query(self) -> dict[str, object]:
        if self.down:
            raise HardwareError("modem /dev/ttyUSB2: no answer to AT+CSQ")
        return {"signal_dbm": -71}


def test_a_modem_that_does_not_answer_is_a_fault_retried_sooner_than_its_period_then_cleared() -> None:
    modem, posted = Modem(), list[Event]()
    fault = hardware.PartFault(lambda active, detail: posted.append(Fault(0, "modem", active, detail)))
    backoff = Backoff(5.0, 60.0, random.Random(1))
    post = lambda make: posted.append(make(0))
    waits = [hardware.poll_once(modem, post, fault, backoff, 60.0) for _ in range(3)]  # type: ignore[arg-type]
    assert all(w <= 60.0 for w in waits) and waits[0] <= 5.0
    modem.down = False
    assert hardware.poll_once(modem, post, fault, backoff, 60.0) == 60.0  # type: ignore[arg-type]
    assert [(type(e).__name__, getattr(e, "active", None)) for e in posted] == [
        ("Fault", True), ("Fault", False), ("Telemetry", None)]
    assert isinstance(posted[-1], Telemetry) and backoff.attempt == 0


def test_a_coprocessor_that_did_not_answer_at_start_is_opened_later_and_not_at_every_beat() -> None:
    tries: list[float] = []

    def opener() -> object:
        tries.append(time.monotonic())
        raise HardwareError("coproc socket://127.0.0.1:1: no reply to GET_VERSION (seq 1) within 0.25 s")

    late = hardware.LateCoproc(opener, 0.5)  # type: ignore[arg-type]
    for _ in range(50):  # a heartbeat, a level and relay retries: each fails at once between tries
        try:
            late.heartbeat()
        except HardwareError as exc:
            assert "GET_VERSION" in str(exc)
    assert len(tries) == 1, "one serial timeout per try, not one per beat"


class SilentBoard:
    """An opened co-processor that stopped answering."""

    closed = False

    def heartbeat(self) -> int:
        raise HardwareError("coproc socket://127.0.0.1:1: HEARTBEAT: read failed: socket disconnected")

    def close(self) -> None:
        self.closed = True


def test_a_coprocessor_silent_past_its_heartbeat_timeout_is_opened_afresh(monkeypatch) -> None:
    now = [100.0]
    monkeypatch.setattr("agent.app.hardware.time.monotonic", lambda: now[0])
    boards: list[SilentBoard] = []

    def opener() -> SilentBoard:
        boards.append(SilentBoard())
        return boards[-1]

    late = hardware.LateCoproc(opener, 0.5)  # type: ignore[arg-type]
    for step in range(8):  # a heartbeat every 0.5 s for 4 s
        now[0] = 100.0 + step * 0.5
        with contextlib.suppress(HardwareError):
            late.heartbeat()
    assert boards[0].closed and len(boards) == 1, "past REOPEN_AFTER_S the silent board is closed, not reused"
    now[0] += 11.0  # past the longest backoff
    with contextlib.suppress(HardwareError):
        late.heartbeat()
    assert len(boards) == 2, "the next beat opens the port afresh"
