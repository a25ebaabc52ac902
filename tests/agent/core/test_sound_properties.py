"""Property: whatever commands arrive, in whatever order and timing, no amplifier stays on with nothing to play
(no bulletin warming up or playing) for longer than tail_s; and every accepted play ends with one play log."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.core.events import Event
from tests.agent.core.device_helpers import T0, sound_device
from tests.agent.core.test_sound import FILE, send
from tests.agent.core.world import World

TAIL_MS = 2000

action = st.one_of(
    st.tuples(st.just("play"), st.sampled_from(["normal", "priority", "emergency"]),
              st.sampled_from([[1], [2], [1, 2]]), st.integers(50, 8000), st.booleans(), st.booleans()),
    st.tuples(st.just("stop_one"), st.integers(0, 30)),
    st.tuples(st.just("stop_all")),
)
steps = st.lists(st.tuples(st.integers(0, 4000), action), min_size=1, max_size=25)


class Watched(World):
    """Samples after every event: are relays on while the desk holds no bulletin?"""

    samples: list[tuple[int, bool, bool]]  # (time, relays powered, desk idle), set by run()
    jtis: list[str]  # every play id sent, set by run()

    def feed(self, event: Event) -> None:
        super().feed(event)
        idle = self.device.sound is not None and self.device.sound.current is None
        self.samples.append((self.now, any(self.relays.values()), idle))


def run(script: list[Any]) -> Watched:
    w = Watched(sound_device(), now=T0)
    w.samples = []
    jtis: list[str] = []
    for i, (delay, act) in enumerate(script):
        w.run_until(w.now + delay)
        jti = f"c{i}"
        if act[0] == "play":
            _, level, zones, duration, replace, fails = act
            w.durations_ms[jti] = duration
            if fails:
                w.failing.add(jti)
            args = {"source": FILE, "priority": level, "zones": zones} | ({"replace": True} if replace else {})
            send(w, "play", args, jti)
            jtis.append(jti)
        elif act[0] == "stop_one" and jtis:
            send(w, "stop", {"jti": jtis[act[1] % len(jtis)]}, jti)
        elif act[0] == "stop_all":
            send(w, "stop", {"all": True}, jti)
    w.run_until(w.now + 200_000)
    w.jtis = jtis
    return w


def longest_idle_power_ms(samples: list[tuple[int, bool, bool]]) -> int:
    worst, since = 0, None
    for t, powered, idle in samples:
        if powered and idle:
            since = t if since is None else since
            worst = max(worst, t - since)
        else:
            since = None
    return worst


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_no_amplifier_left_on_with_nothing_to_play(script: list[Any]) -> None:
    w = run(script)
    assert longest_idle_power_ms(w.samples) <= TAIL_MS
    assert not any(w.relays.values())  # and at the end everything is off


@settings(max_examples=200, deadline=None)
@given(steps)
def test_every_accepted_play_ends_with_one_terminal_ack(script: list[Any]) -> None:
    w = run(script)
    terminal = {"finished", "stopped", "failed", "expired"}
    for jti in w.jtis:
        states = w.acks(jti)
        assert states[0] == "accepted"
        assert sum(s in terminal for s in states) == 1 or states[-1] == "preempted", states
