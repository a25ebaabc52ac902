"""Reconnect delays: capped exponential backoff with full jitter (paho's own reconnect has no jitter).

Pure: the random source is given. Must not import anything outside the standard library.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# The unit's reconnect defaults, shared by the config, the core and the simulator (which must behave as units do).
# Full jitter draws each delay uniformly below the cap, so once a long outage has pushed every unit to the cap,
# only 30 / cap of them try again within 30 s of the broker's return: a cap of 120 s leaves three quarters of a
# province offline for longer than that. A 30 s cap brings the whole province back within about 30 s, and it still
# spreads a province of 5,000 units over 30 s (under 200 connects per second for one broker).
RECONNECT_MIN_S = 1.0
RECONNECT_MAX_S = 30.0


@dataclass
class Backoff:
    base_s: float
    cap_s: float
    rng: random.Random
    jitter: bool = True
    attempt: int = 0

    def next_delay_s(self) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]; naive mode (no jitter) only to show the difference."""
        ceiling = min(self.cap_s, self.base_s * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return self.rng.uniform(0, ceiling) if self.jitter else ceiling

    def reset(self) -> None:
        self.attempt = 0
