"""The hard maximum on-time and its renewal as tables of events -> effects (agent.core.on_time): emergencies and
streams with a signed end renew it while they play; every other play is still cut at the limit."""

from __future__ import annotations

from typing import Any

from agent.core.effects import Effect, RenewOnTime
from agent.core.events import MessageArrived
from agent.core.on_time import renew_period_ms
from agent.core.topics import Topics
from tests.agent.core.device_helpers import T0, command, sound_device
from tests.agent.core.world import World

FILE = {"url": "http://x/a.mp3", "sha256": "a" * 64}
STREAM = {"stream": "https://radio.example/live"}
HOUR_MS = 3_600_000


class RenewWorld(World):
    """The core's world, also keeping every renewal it asked for: (s after T0, zones)."""

    renewals: list[tuple[float, tuple[int, ...]]]

    def _do(self, e: Effect) -> None:
        if isinstance(e, RenewOnTime):
            self.renewals.append(((self.now - T0) / 1000, e.zones))
        super()._do(e)

    def relays_on_at(self) -> list[tuple[float, int, bool]]:
        return [((t - T0) / 1000, z, on) for t, kind, (z, on) in
                ((t, k, v) for t, k, v in self.timeline if k == "relay")]


def world(**sound: Any) -> RenewWorld:
    w = RenewWorld(sound_device(max_on_s=10, **sound), now=T0)
    w.renewals = []
    return w


def send(w: World, args: dict[str, Any], jti: str) -> None:
    w.feed(MessageArrived(w.now, Topics().device_command("d1"), command("play", args, jti, w.now)))


def test_an_emergency_longer_than_the_limit_renews_it_and_plays_to_its_end() -> None:
    w = world()
    w.durations_ms["e1"] = 35_000
    send(w, {"source": FILE, "priority": "emergency"}, "e1")
    w.run_until(T0 + 60_000)
    assert w.acks("e1") == ["accepted", "started", "finished"]
    assert [t for t, _ in w.renewals] == [0.005, 3.338, 6.671, 10.004, 13.337, 16.67, 20.003, 23.336, 26.669,
                                          30.002, 33.335]
    assert w.renewals[1][1] == (1, 2)  # every zone that is on
    assert w.relays_on_at()[-2:] == [(38.505, 1, False), (38.505, 2, False)]  # after the end and the tail


def test_a_stream_with_a_signed_end_renews_until_it_and_ends_expired() -> None:
    w = world()
    w.durations_ms["s1"] = HOUR_MS
    send(w, {"source": STREAM, "until": (T0 + 30_000) // 1000}, "s1")
    w.run_until(T0 + 60_000)
    assert w.acks("s1") == ["accepted", "started", "expired"] and w.ack_codes("s1")[-1] == "expired"
    assert [t for t, _ in w.renewals] == [0.0, 3.333, 6.666, 9.999, 13.332, 16.665, 19.998, 23.331, 26.664, 29.997]


def test_a_stream_without_an_end_and_a_long_normal_file_are_cut_at_the_limit() -> None:
    for source in (STREAM, FILE):
        w = world()
        w.durations_ms["n1"] = HOUR_MS
        send(w, {"source": source}, "n1")
        w.run_until(T0 + 60_000)
        assert w.ack_codes("n1")[-1] == "max_on_time" and w.renewals == []
        first_on = w.relays_on_at()[0][0]
        assert w.relays_on_at()[-2:] == [(first_on + 10, 1, False), (first_on + 10, 2, False)]


def test_an_emergency_cutting_into_a_long_normal_renews_at_once() -> None:
    w = world()
    w.durations_ms |= {"n1": HOUR_MS, "e1": 20_000}
    send(w, {"source": FILE}, "n1")
    w.run_until(T0 + 9000)
    send(w, {"source": FILE, "priority": "emergency"}, "e1")
    w.run_until(T0 + 40_000)
    assert w.renewals[0] == (9.005, (1, 2))
    assert w.acks("e1") == ["accepted", "started", "finished"]
    # the normal comes back on the budget of the last renewal (as the co-processor counts it) and is cut by it
    last = w.renewals[-1][0]
    assert w.acks("n1")[-1] == "failed" and w.ack_codes("n1")[-1] == "max_on_time"
    assert w.relays_on_at()[-1] == (round(last + 10, 3), 2, False)


def test_the_renewal_period_is_the_boards_but_never_more_than_half_the_limit() -> None:
    assert renew_period_ms(900, 300) == 300_000
    assert renew_period_ms(900, None) == 300_000
    assert renew_period_ms(3, 1) == 1000
    assert renew_period_ms(10, 60) == 5000
