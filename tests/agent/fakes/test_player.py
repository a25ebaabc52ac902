"""NullPlayer: the fake that ships with the agent records history, injects faults, and keeps the port's promise."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import AudioError
from agent.fakes.player import NullPlayer, PlayerCall
from agent.ports import TERMINAL_KINDS, Player


def test_play_then_finish_records_history_and_events() -> None:
    player, got = NullPlayer(), []
    port: Player = player  # the fake satisfies the port (checked by mypy)
    port.play("p1", "/audio/a.mp3", volume_pct=60, on_event=lambda *e: got.append(e))
    port.set_volume(80)
    assert player.now is not None and player.now.volume_pct == 80
    assert player.finish() == "p1"
    assert got == [("p1", "started", ""), ("p1", "finished", "")]
    assert player.history == [PlayerCall("play", "p1", "/audio/a.mp3", 60), PlayerCall("set_volume", volume_pct=80)]


def test_a_failing_source_fails_at_once_without_starting() -> None:
    player = NullPlayer()
    player.fail_source("http://radio.example/live", "source_unreachable")
    player.play("p1", "http://radio.example/live", volume_pct=50, on_event=lambda *e: None)
    player.fail_next("decode_error")
    player.play("p2", "/audio/fine.mp3", volume_pct=50, on_event=lambda *e: None)
    player.play("p3", "/audio/fine.mp3", volume_pct=50, on_event=lambda *e: None)
    assert player.fail("stream_dropped") == "p3"
    assert player.events == [("p1", "failed", "source_unreachable"), ("p2", "failed", "decode_error"),
                             ("p3", "started", ""), ("p3", "failed", "stream_dropped")]


def test_newer_play_and_stop_end_the_current_one_with_stopped() -> None:
    player = NullPlayer()
    player.play("a", "x", volume_pct=50, on_event=lambda *e: None)
    player.play("b", "y", volume_pct=50, on_event=lambda *e: None)
    player.stop("a")  # no longer current: nothing happens
    player.stop("b")
    assert [e for e in player.events if e[1] != "started"] == [("a", "stopped", ""), ("b", "stopped", "")]
    assert player.finish() is None


def test_closed_player_refuses_to_play() -> None:
    player = NullPlayer()
    player.play("a", "x", volume_pct=50, on_event=lambda *e: None)
    player.close()
    assert player.events[-1] == ("a", "stopped", "")
    with pytest.raises(AudioError):
        player.play("b", "x", volume_pct=50, on_event=lambda *e: None)


OPS = st.lists(st.tuples(st.sampled_from(["play", "stop", "finish", "fail", "fail_next"]), st.integers(0, 3)))


@given(OPS)
def test_every_play_gets_exactly_one_terminal_event_after_its_start(ops: list[tuple[str, int]]) -> None:
    player, plays = NullPlayer(), 0
    for op, n in ops:
        if op == "play":
            plays += 1
            player.play(f"p{plays}", f"src{n}", volume_pct=50, on_event=lambda *e: None)
        elif op == "stop":
            player.stop(f"p{n}")
        else:
            getattr(player, op)()
    player.close()
    by_play: dict[str, list[str]] = {}
    for pid, kind, _ in player.events:
        by_play.setdefault(pid, []).append(kind)
    assert len(by_play) == plays
    assert all(kinds[-1] in TERMINAL_KINDS and kinds[:-1] in ([], ["started"]) for kinds in by_play.values())
