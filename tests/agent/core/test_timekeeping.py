"""agent.core.timekeeping.judge, the rule that combines the unit's time sources: agreement, the beacon's weight,
stale readings, readings behind the time floor."""

from __future__ import annotations

from agent.core.timekeeping import AGREE_MS, FRESH_MS, UNTRUSTED, Reading, Verdict, judge

TRUE = 1_800_000_000_000  # the true time now, ms
MONO = 5_000_000  # the monotonic clock now
SYSTEM = 0  # the system clock booted at 1970


def reading(source: str, off_ms: int = 0, age_ms: int = 1000, error_ms: int = 1000) -> Reading:
    """What `source` said age_ms ago, off by off_ms from the true time."""
    return Reading(source, TRUE - age_ms + off_ms, MONO - age_ms, error_ms)


def test_no_reading_is_no_trusted_time() -> None:
    assert judge([], MONO, SYSTEM) == UNTRUSTED


def test_agreeing_sources_give_the_most_precise_ones_time() -> None:
    v = judge([reading("ntp", 300, error_ms=40), reading("network", -2000, error_ms=1500)], MONO, SYSTEM)
    assert v == Verdict(True, "ntp", TRUE + 300 - SYSTEM, ())


def test_the_beacon_outweighs_two_sources_that_disagree_with_it() -> None:
    wrong = 3_600_000  # NTP and the network both an hour off (a spoofed NTP, a network with a bad NITZ)
    v = judge([reading("beacon", 500, error_ms=2000), reading("ntp", wrong, error_ms=20),
               reading("network", wrong, error_ms=1000)], MONO, SYSTEM)
    assert (v.trusted, v.source, v.offset_ms, v.disagree) == (True, "beacon", TRUE + 500, ("network", "ntp"))


def test_equal_weights_go_to_the_better_ranked_source() -> None:
    v = judge([reading("ntp", 0), reading("network", 10 * AGREE_MS)], MONO, SYSTEM)
    assert (v.source, v.disagree) == ("network", ("ntp",))


def test_a_stale_reading_does_not_count() -> None:
    assert judge([reading("ntp", age_ms=FRESH_MS["ntp"] + 1)], MONO, SYSTEM) == UNTRUSTED
    assert judge([reading("system", age_ms=FRESH_MS["system"] - 1)], MONO, SYSTEM).source == "system"


def test_a_reading_behind_the_time_floor_is_discarded() -> None:
    floor = TRUE + 60_000  # a verified command's iat a minute ahead of what the source says
    assert judge([reading("network", 0)], MONO, SYSTEM, floor_ms=floor) == UNTRUSTED
    v = judge([reading("network", 0), reading("beacon", 61_000)], MONO, SYSTEM, floor_ms=floor)
    assert (v.source, v.offset_ms) == ("beacon", TRUE + 61_000)
