"""Reconnect backoff: full jitter stays within the capped exponential ceiling; naive mode is the ceiling."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from agent.core.backoff import Backoff


@given(st.integers(0, 2**32), st.integers(1, 40))
def test_full_jitter_is_within_the_capped_ceiling(seed: int, attempts: int) -> None:
    b = Backoff(base_s=1.0, cap_s=60.0, rng=random.Random(seed))
    for attempt in range(attempts):
        assert 0 <= b.next_delay_s() <= min(60.0, 2.0**attempt)


def test_naive_mode_is_the_ceiling_and_reset_starts_over() -> None:
    b = Backoff(base_s=0.5, cap_s=4.0, rng=random.Random(1), jitter=False)
    assert [b.next_delay_s() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    b.reset()
    assert b.next_delay_s() == 0.5


def test_jitter_spreads_a_fleet() -> None:
    """1,000 units failing at once retry across the window, not in one spike."""
    delays = [Backoff(1.0, 60.0, random.Random(i)).next_delay_s() for i in range(1000)]
    assert 0.4 < sum(delays) / len(delays) < 0.6 and max(delays) - min(delays) > 0.9
