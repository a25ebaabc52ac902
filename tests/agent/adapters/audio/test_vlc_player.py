"""VlcPlayer against real libVLC: real files, real decoding, a real HTTP server that we kill and freeze."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.adapters.audio.vlc_player import VlcPlayer, parse_output
from agent.errors import ConfigError
from agent.ports import Player
from tests.agent.adapters.audio.audio_http_server import AudioHttpServer
from tests.agent.adapters.audio.sound_helpers import EventLog, encode, measure_wav

# Tight bounds so failures show quickly; the documented bound is give_up_s + poll_s after the last progress.
STALL_S, GIVE_UP_S, POLL_S, CACHING_MS = 1.0, 3.0, 0.1, 300
LiveServer = Callable[[], tuple[str, subprocess.Popen[str]]]


@pytest.fixture
def wav_dir(tmp_path: Path) -> Path:
    return tmp_path / "out"


@pytest.fixture
def make_player() -> Iterator[Callable[[str], VlcPlayer]]:
    players: list[VlcPlayer] = []

    def make(output: str) -> VlcPlayer:
        player = VlcPlayer(output, stall_s=STALL_S, give_up_s=GIVE_UP_S, poll_s=POLL_S,
                           network_caching_ms=CACHING_MS)
        players.append(player)
        return player

    yield make
    for player in players:
        player.close()


def play_to_end(player: Player, source: str, timeout_s: float = 10.0) -> EventLog:
    events = EventLog()
    player.play("p1", source, volume_pct=80, on_event=events)
    events.wait("finished", timeout_s)
    return events


def test_mp3_to_wav_output_has_the_source_duration_and_sound(
    make_player: Callable[[str], VlcPlayer], media: dict[str, Path], wav_dir: Path
) -> None:
    events = play_to_end(make_player(f"wav:{wav_dir}"), str(media["mp3"]))
    got = measure_wav(wav_dir / "p1.wav")
    assert events.kinds() == ["started", "finished"]
    assert got.seconds == pytest.approx(3.0, rel=0.05)
    assert got.rms > 0.2  # the source tone has RMS 0.35 of full scale; silence would be ~0
    assert 2.8 < play_seconds(events) < 3.6  # real time, as on a unit


def play_seconds(events: EventLog) -> float:
    started, finished = (t for t, _, kind, _ in events.seen if kind in ("started", "finished"))
    return finished - started


def test_aac_opus_and_wav_files_decode(
    make_player: Callable[[str], VlcPlayer], media: dict[str, Path], wav_dir: Path
) -> None:
    kinds = ("aac", "opus", "wav")
    logs = {kind: EventLog() for kind in kinds}
    for kind in kinds:  # three players at once: each is its own libVLC instance, and the test is 3 s, not 9
        make_player(f"wav:{wav_dir}").play(kind, str(media[kind]), volume_pct=80, on_event=logs[kind])
    for kind in kinds:
        logs[kind].wait("finished", 10.0)
        got = measure_wav(wav_dir / f"{kind}.wav")
        assert got.seconds == pytest.approx(3.0, rel=0.05), kind
        assert got.rms > 0.2, kind


def test_null_output_decodes_in_real_time(make_player: Callable[[str], VlcPlayer], media: dict[str, Path]) -> None:
    events = play_to_end(make_player("null"), str(media["mp3"]))
    assert 2.8 < play_seconds(events) < 3.6  # 3 s of audio, held to libVLC's play dates


def test_alsa_output_plays_to_alsas_null_device(
    make_player: Callable[[str], VlcPlayer], media: dict[str, Path]
) -> None:
    events = play_to_end(make_player("alsa:null"), str(media["mp3"]))
    assert events.kinds() == ["started", "finished"]


def test_alsa_output_that_refuses_audio_fails_with_output_error(
    make_player: Callable[[str], VlcPlayer], media: dict[str, Path]
) -> None:
    events = EventLog()
    make_player("alsa:no_such_card").play("p1", str(media["mp3"]), volume_pct=50, on_event=events)
    assert events.wait("failed", 5.0)[3] == "output_error"


def test_missing_file_fails_as_unreachable_and_garbage_as_decode_error(
    make_player: Callable[[str], VlcPlayer], tmp_path: Path
) -> None:
    player, events = make_player("null"), EventLog()
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(bytes(range(256)) * 200)
    player.play("gone", str(tmp_path / "nope.mp3"), volume_pct=50, on_event=events)
    player.play("junk", str(garbage), volume_pct=50, on_event=events)
    events.wait("failed", 5.0)
    events.wait("failed", 5.0)
    assert [(pid, detail) for _, pid, _, detail in events.seen] == [
        ("gone", "source_unreachable"), ("junk", "decode_error")]


def test_stop_then_play_in_quick_succession_gives_one_terminal_event_each(
    make_player: Callable[[str], VlcPlayer], media: dict[str, Path]
) -> None:
    player, events = make_player("null"), EventLog()
    player.play("a", str(media["mp3"]), volume_pct=50, on_event=events)
    events.wait("started", 5.0)
    player.stop("a")
    player.play("b", str(media["mp3"]), volume_pct=50, on_event=events)
    player.play("c", str(media["wav"]), volume_pct=50, on_event=events)  # preempts b at once
    player.stop("b")  # already over: nothing happens
    events.wait("finished", 6.0)
    assert [(pid, kind) for _, pid, kind, _ in events.seen if kind != "started"] == [
        ("a", "stopped"), ("b", "stopped"), ("c", "finished")]
    assert events.kinds(settle_s=0.3).count("stopped") == 2


def test_endless_icecast_like_stream_plays_until_stopped(
    make_player: Callable[[str], VlcPlayer], live_server: LiveServer, wav_dir: Path
) -> None:
    url, _ = live_server()
    player, events = make_player(f"wav:{wav_dir}"), EventLog()
    player.play("radio", url, volume_pct=70, on_event=events)
    started = events.wait("started", 5.0)[0]
    assert events.kinds(settle_s=3.0) == ["started"]  # a live stream keeps going
    player.stop("radio")
    got = measure_wav(wav_dir / "radio.wav")
    assert events.kinds() == ["started", "stopped"]
    assert got.seconds > 2.5 and got.rms > 0.2
    assert started < 3.0


def test_stream_whose_server_is_killed_fails_within_the_bound(
    make_player: Callable[[str], VlcPlayer], live_server: LiveServer
) -> None:
    url, server = live_server()
    player, events = make_player("null"), EventLog()
    player.play("radio", url, volume_pct=70, on_event=events)
    events.wait("started", 5.0)
    killed_at = events.wait_quietly(1.0)
    server.send_signal(signal.SIGKILL)
    failed = events.wait("failed", 15.0)
    # buffered audio (1 s burst + caching) still plays, then give_up_s + poll_s
    assert failed[3] in ("stream_dropped", "stream_stalled")
    assert failed[0] - killed_at < 1.0 + CACHING_MS / 1000 + GIVE_UP_S + POLL_S + 1.0


def test_stream_that_freezes_fails_as_stalled_within_the_bound(
    make_player: Callable[[str], VlcPlayer], live_server: LiveServer
) -> None:
    url, server = live_server()
    player, events = make_player("null"), EventLog()
    player.play("radio", url, volume_pct=70, on_event=events)
    events.wait("started", 5.0)
    frozen_at = events.wait_quietly(1.0)
    server.send_signal(signal.SIGSTOP)  # the link stays open but no byte comes: a stall, not a drop
    failed = events.wait("failed", 15.0)
    assert failed[3] == "stream_stalled"
    assert failed[0] - frozen_at < 1.0 + CACHING_MS / 1000 + GIVE_UP_S + POLL_S + 1.0


def test_remote_file_whose_link_drops_is_resumed_by_libvlcs_own_range_request(
    make_player: Callable[[str], VlcPlayer], media: dict[str, Path], http_server: AudioHttpServer, wav_dir: Path
) -> None:
    url = http_server.url("/files/tone.mp3")
    http_server.routes.files["tone.mp3"] = media["mp3"].read_bytes()
    http_server.routes.cuts["tone.mp3"] = [20_000]
    play_to_end(make_player(f"wav:{wav_dir}"), url)
    assert measure_wav(wav_dir / "p1.wav").seconds == pytest.approx(3.0, rel=0.05)
    assert [r for _, r in http_server.routes.seen] == ["bytes=0-", "bytes=20000-"]


def test_remote_file_that_ends_short_is_played_on_from_where_it_stopped(
    make_player: Callable[[str], VlcPlayer], media: dict[str, Path], http_server: AudioHttpServer, wav_dir: Path
) -> None:
    url = http_server.url("/files/tone.mp3")
    http_server.routes.files["tone.mp3"] = media["mp3"].read_bytes()
    http_server.routes.cuts["tone.mp3"] = [20_000, 0]  # libVLC's own resume fails too: the adapter retries
    events = play_to_end(make_player(f"wav:{wav_dir}"), url)
    parts = [measure_wav(wav_dir / name) for name in ("p1.wav", "p1.2.wav")]
    assert events.kinds() == ["started", "finished"]
    assert parts[0].seconds < 2.0
    assert sum(p.seconds for p in parts) == pytest.approx(3.0, rel=0.1)


def test_unreachable_stream_fails_after_give_up(make_player: Callable[[str], VlcPlayer]) -> None:
    events = EventLog()
    make_player("null").play("x", "http://127.0.0.1:9/none.mp3", volume_pct=50, on_event=events)
    failed = events.wait("failed", 10.0)
    assert failed[3] == "source_unreachable"
    assert GIVE_UP_S <= failed[0] < GIVE_UP_S + 1.0


def test_hls_stream_plays(
    make_player: Callable[[str], VlcPlayer], media: dict[str, Path], http_server: AudioHttpServer,
    tmp_path: Path, wav_dir: Path
) -> None:
    hls = tmp_path / "hls"
    hls.mkdir()
    encode(media["wav"], hls / "index.m3u8", "-c:a", "aac", "-b:a", "64k", "-f", "hls", "-hls_time", "1",
           "-hls_playlist_type", "vod")
    http_server.routes.files.update({p.name: p.read_bytes() for p in hls.iterdir()})
    play_to_end(make_player(f"wav:{wav_dir}"), http_server.url("/files/index.m3u8"))
    got = measure_wav(wav_dir / "p1.wav")
    assert got.seconds == pytest.approx(3.0, rel=0.1) and got.rms > 0.2


def test_output_strings_are_checked() -> None:
    assert parse_output("alsa:hw:1,0").target == "hw:1,0"
    assert parse_output("wav:/tmp/x").kind == "wav"
    for bad in ("pulse", "alsa:", "wav", "null:x"):
        with pytest.raises(ConfigError, match="expected alsa"):
            parse_output(bad)
