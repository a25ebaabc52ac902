"""Reconnect delays: capped exponential backoff with full jitter (paho's own reconnect has no jitter).

Pure: the random source is given. Must not import anything outside the standard library.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


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
