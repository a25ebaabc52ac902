"""The province's signed time beacon: a `time` command (args {"t_ms": ms since the epoch when signed}) on each
configured group's command topic, every few minutes, so units without NTP or network time reach a trusted time
(docs/protocol.md, 3.4).

A beacon is an ordinary signed command (province.keys.sign_command): a short life (exp = iat + 120 s), a fresh jti,
sent QoS 0 and never retained (a stale beacon must not reach a unit that connects later). Units send no ack for it.
Must not import the agent's runtime or adapters.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from joserfc.jwk import OKPKey

from agent.core.topics import Target, Topics, valid_name
from agent.errors import ConfigError
from province.keys import sign_command

CMD = "time"
LIFETIME_S = 120
DEFAULT_EVERY_S = 300.0

Publish = Callable[[str, bytes], None]  # (topic, token): QoS 0, not retained
Sent = Callable[[str, int, str], None]  # (group, t_ms, jti) after each beacon
Failed = Callable[[str, str], None]  # (group, why): the broker was out of reach; the next round tries again


def check_groups(groups: Sequence[str]) -> tuple[str, ...]:
    """The groups, each a valid topic level (one pass, every bad name at once)."""
    bad = [g for g in groups if not valid_name(g)]
    if bad:
        raise ConfigError("--group: " + ", ".join(repr(g) for g in bad) +
                          " is not a group name (1-64 ASCII letters, digits, '-', '_' or '.')")
    if not groups:
        raise ConfigError("--group: name at least one group (e.g. --group province)")
    return tuple(groups)


def check_every(every_s: float) -> float:
    if not every_s > 0:
        raise ConfigError(f"--every: must be more than 0 s (got {every_s:g})")
    return every_s


def beacon_token(key: OKPKey, group: str, now_ms: int) -> tuple[str, str]:
    """One signed beacon for a group, as of now_ms; returns (token, jti)."""
    return sign_command(key, Target("grp", group).audience, CMD, {"t_ms": now_ms}, lifetime_s=LIFETIME_S,
                        now_s=now_ms // 1000)


@dataclass
class BeaconSender:
    """Signs and publishes one beacon per group each round; `run` repeats every `every_s` until `stop` is set."""

    key: OKPKey
    groups: tuple[str, ...]
    publish: Publish
    topics: Topics = field(default_factory=Topics)
    every_s: float = DEFAULT_EVERY_S
    now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000
    on_sent: Sent = lambda _group, _t_ms, _jti: None
    on_failed: Failed = lambda _group, _why: None

    def __post_init__(self) -> None:
        self.groups, self.every_s = check_groups(self.groups), check_every(self.every_s)

    def send_round(self) -> int:
        """One beacon to every group, each signed just before it goes; returns how many were sent. A broker out of
        reach costs that round only (a long-running sender must outlive an outage; the console reconnects)."""
        sent = 0
        for group in self.groups:
            t_ms = self.now_ms()
            token, jti = beacon_token(self.key, group, t_ms)
            try:
                self.publish(self.topics.group_command(group), token.encode())
            except (RuntimeError, OSError, ValueError) as exc:
                self.on_failed(group, str(exc) or type(exc).__name__)
                continue
            self.on_sent(group, t_ms, jti)
            sent += 1
        return sent

    def run(self, stop: threading.Event) -> int:
        """Rounds on a fixed period (no drift) until `stop`; returns the number of beacons sent."""
        sent, rounds, start = 0, 0, time.monotonic()
        while not stop.is_set():
            sent += self.send_round()
            rounds += 1
            stop.wait(max(0.0, start + rounds * self.every_s - time.monotonic()))
        return sent


def start_thread(sender: BeaconSender) -> Callable[[], int]:
    """Run the sender on a daemon thread (for long-running console paths); returns a stop() giving the count."""
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(sender.run(stop)), name="loa-beacon", daemon=True)
    thread.start()

    def halt() -> int:
        stop.set()
        thread.join(10)
        return result[0] if result else 0
    return halt
