"""`volume` as tables of events -> effects: it changes the level of the audio playing now and of what plays next,
capped at the unit's maximum; an emergency keeps the unit's emergency level (it bypasses volume caps)."""

from __future__ import annotations

from typing import Any

from agent.core.effects import Effect, PlayAudio, SetVolume
from agent.core.events import MessageArrived
from agent.core.topics import Topics
from tests.agent.core.device_helpers import T0, command, sound_device
from tests.agent.core.world import World

FILE = {"url": "http://x/a.mp3", "sha256": "a" * 64}


class VolumeWorld(World):
    """The core's world, also keeping every level it asked for: (time, play id or None for "now", pct)."""

    levels: list[tuple[int, str | None, int]]

    def _do(self, e: Effect) -> None:
        if isinstance(e, PlayAudio):
            self.levels.append((self.now - T0, e.play_id, e.volume_pct))
        elif isinstance(e, SetVolume):
            self.levels.append((self.now - T0, None, e.volume_pct))
        super()._do(e)


def world(**device: Any) -> VolumeWorld:
    w = VolumeWorld(sound_device(emergency_volume_pct=100, **device), now=T0)
    w.levels = []
    return w


def send(w: World, cmd: str, args: dict[str, Any], jti: str) -> None:
    w.feed(MessageArrived(w.now, Topics().device_command("d1"), command(cmd, args, jti, w.now)))


def test_volume_changes_the_level_of_the_normal_bulletin_playing_now() -> None:
    w = world()
    w.durations_ms["n1"] = 20_000
    send(w, "play", {"source": FILE, "volume_pct": 80}, "n1")
    w.run_until(T0 + 5000)
    send(w, "volume", {"volume_pct": 20}, "v1")
    w.run_until(T0 + 30_000)
    assert w.levels == [(1505, "n1", 80), (5000, None, 20)]
    assert w.acks("v1") == ["accepted", "finished"]


def test_the_new_level_is_capped_and_also_holds_for_queued_bulletins_and_a_repeat() -> None:
    w = world()
    send(w, "play", {"source": FILE, "volume_pct": 30, "repeat": 2}, "n1")
    send(w, "play", {"source": FILE, "volume_pct": 40}, "n2")
    w.run_until(T0 + 2000)
    send(w, "volume", {"volume_pct": 95}, "v1")  # the unit's max_volume_pct is 90
    w.run_until(T0 + 30_000)
    assert w.levels == [(1505, "n1", 30), (2000, None, 90), (4505, "n1", 90), (7505, "n2", 90)]


def test_an_emergency_playing_keeps_its_level_and_the_cut_bulletin_comes_back_at_the_new_one() -> None:
    w = world()
    w.durations_ms["n1"] = 10_000
    send(w, "play", {"source": FILE, "volume_pct": 80}, "n1")
    w.run_until(T0 + 2000)
    send(w, "play", {"source": FILE, "priority": "emergency"}, "e1")
    w.run_until(T0 + 3000)
    send(w, "volume", {"volume_pct": 20}, "v1")
    w.run_until(T0 + 40_000)
    assert w.levels == [(1505, "n1", 80), (2005, "e1", 100), (5005, "n1", 20)]
    assert w.acks("n1")[-1] == "finished"


def test_nothing_playing_asks_no_level_and_the_next_bulletin_takes_the_new_one() -> None:
    w = world()
    send(w, "volume", {"volume_pct": 25}, "v1")
    send(w, "play", {"source": FILE}, "n1")
    w.run_until(T0 + 10_000)
    assert w.levels == [(1505, "n1", 25)]
