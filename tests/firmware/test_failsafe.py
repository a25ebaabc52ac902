"""Fail-safe rules as tables of events on a fake clock: relays off at boot, off when the host heartbeat stops,
off after the maximum on-time unless an emergency renews it, and a watchdog fed only by the main loop.

Runs on CPython and MicroPython.
"""

from firmware.failsafe import MAX_HEARTBEAT_TIMEOUT_MS, Failsafe
from firmware.fakes import FakeUART
from firmware.ticks import TICKS_PERIOD
from tests.firmware.support import Bench, raises, run_table

ALL = 0b1111


def test_every_relay_is_written_off_at_boot() -> None:
    bench = Bench()
    assert bench.relays() == 0
    assert [pin.history for pin in bench.pins] == [[(0, 0)]] * 4


def test_active_low_boards_are_driven_high_at_boot() -> None:
    bench = Bench(active_low=True)
    assert [pin.history for pin in bench.pins] == [[(0, 1)]] * 4
    assert bench.relays() == 0


def test_missing_heartbeat_cuts_every_relay() -> None:
    bench = Bench(heartbeat_timeout_ms=2000)
    run_table(bench, [
        (0, "beat", 0, 0),
        (10, "set", ALL, ALL),
        (1000, "beat", 0, ALL),
        (2000, "beat", 0, ALL),
        (3999, "tick", 0, ALL),  # 1999 ms since the last heartbeat
        (4000, "tick", 0, 0),  # 2000 ms: the host is presumed dead
        (4005, "set", ALL, 0),  # refused: the link must come back first
    ])
    assert bench.counter("heartbeat_trips") == 1
    assert bench.counter("link_down") == 1


def test_relays_are_off_within_3_s_even_at_the_longest_timeout() -> None:
    bench = Bench(heartbeat_timeout_ms=MAX_HEARTBEAT_TIMEOUT_MS)
    run_table(bench, [(0, "beat", 0, 0), (5, "set", ALL, ALL)])
    t_ms = 5
    while bench.relays():
        t_ms += 5  # the board's loop period
        bench.at(t_ms)
        bench.node.step()
    assert t_ms <= 3000, t_ms


def test_heartbeat_timeout_above_the_limit_is_refused() -> None:
    raises(ValueError, Failsafe, 4, MAX_HEARTBEAT_TIMEOUT_MS + 1, 1000)
    raises(ValueError, lambda: Bench(heartbeat_timeout_ms=3001))


def test_heartbeat_cut_works_across_the_tick_wrap() -> None:
    bench = Bench(start_ms=TICKS_PERIOD - 700)
    run_table(bench, [(0, "beat", 0, 0), (10, "set", 1, 1), (1999, "tick", 0, 1), (2000, "tick", 0, 0)])


def test_a_late_heartbeat_does_not_rescue_the_relays() -> None:
    bench = Bench(heartbeat_timeout_ms=2000)
    run_table(bench, [(0, "beat", 0, 0), (10, "set", 1, 1), (2100, "beat", 0, 0)])
    assert bench.counter("heartbeat_trips") == 1


def test_relays_stay_on_while_the_host_beats() -> None:
    bench = Bench(heartbeat_timeout_ms=2000)
    table = [(0, "beat", 0, 0), (10, "set", 0b0101, 0b0101)]
    table += [(t, "beat", 0, 0b0101) for t in range(1000, 60001, 1000)]
    run_table(bench, table)
    assert bench.counter("heartbeat_trips") == 0


def beats(first_ms: int, last_ms: int, mask: int) -> "list[tuple[int, str, int, int]]":
    return [(t, "beat", 0, mask) for t in range(first_ms, last_ms + 1, 1000)]


def test_maximum_on_time_cuts_a_relay_left_on() -> None:
    bench = Bench(max_on_ms=10000)
    run_table(bench, [(0, "beat", 0, 0), (0, "set", 0b01, 0b01)]
              + beats(1000, 5000, 0b01)
              + [(5000, "set", 0b11, 0b11)]
              + beats(6000, 9000, 0b11)
              + [(9999, "tick", 0, 0b11), (10000, "beat", 0, 0b10)]  # relay 0 used its 10 s; relay 1 has 5 s left
              + beats(11000, 14000, 0b10)
              + [(15000, "tick", 0, 0)])
    assert bench.counter("max_on_trips") == 2


def test_default_maximum_on_time_is_15_minutes() -> None:
    bench = Bench()
    run_table(bench, [(0, "beat", 0, 0), (0, "set", 1, 1)] + beats(1000, 899000, 1) + [(900000, "tick", 0, 0)])


def test_emergency_renew_extends_the_on_time() -> None:
    bench = Bench(max_on_ms=10000)
    run_table(bench, [(0, "beat", 0, 0), (0, "set", 1, 1)]
              + beats(1000, 8000, 1)
              + [(8000, "renew", 1, 1)]
              + beats(9000, 17000, 1)
              + [(17999, "tick", 0, 1), (18000, "tick", 0, 0)])


def test_setting_a_relay_again_does_not_restart_its_budget() -> None:
    bench = Bench(max_on_ms=10000)
    run_table(bench, [(0, "beat", 0, 0), (0, "set", 1, 1)] + beats(1000, 9000, 1)
              + [(9500, "set", 1, 1), (10000, "tick", 0, 0)])


def test_watchdog_is_fed_once_per_loop_pass() -> None:
    bench = Bench()
    for _ in range(7):
        bench.node.step()
    assert bench.wdt.feeds == 7


class BrokenUART(FakeUART):
    def read(self) -> "bytes | None":
        raise OSError(5)


def test_a_failing_loop_pass_does_not_feed_the_watchdog() -> None:
    bench = Bench()
    bench.node._uart = BrokenUART()
    raises(OSError, bench.node.step)
    assert bench.wdt.feeds == 0


def test_watchdog_reset_is_counted_at_boot() -> None:
    assert Bench(reset_by_watchdog=True).counter("watchdog_resets") == 1
    assert Bench().counter("watchdog_resets") == 0


def test_failsafe_reports_link_loss_once() -> None:
    failsafe = Failsafe(2, 2000, 60000)
    failsafe.beat(100)
    assert [failsafe.link_lost(t) for t in (2099, 2100, 2101, 5000)] == [False, True, False, False]


def test_renew_ignores_relays_that_are_off() -> None:
    failsafe = Failsafe(4, 2000, 60000)
    failsafe.switched(0b0001, 0)
    assert failsafe.renew(0b0011, 100) == 0b0001
