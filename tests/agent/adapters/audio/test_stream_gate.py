"""StreamGate in front of a player: refused sources never reach it, allowed ones only through the checked relay.
A real HTTP server on 127.0.0.1 redirects and serves; the inner player is the agent's NullPlayer."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from agent import ports as sp
from agent.adapters.audio.stream_gate import StreamGate
from agent.core.sources import SourcePolicy
from agent.fakes.player import NullPlayer
from tests.agent.adapters.audio.audio_http_server import AudioHttpServer

LOCAL = SourcePolicy(allowed_hosts=("127.0.0.1",), plain_http_stream_hosts=("127.0.0.1",))


def handed(inner: NullPlayer, calls: int) -> None:
    deadline = time.monotonic() + 5
    while len(inner.history) < calls and time.monotonic() < deadline:
        time.sleep(0.01)


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []
        self.changed = threading.Event()

    def __call__(self, play_id: str, kind: str, detail: str) -> None:
        self.seen.append((play_id, kind, detail))
        self.changed.set()

    def wait(self, n: int, timeout: float = 5.0) -> list[tuple[str, str, str]]:
        deadline = time.monotonic() + timeout
        while len(self.seen) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.seen


@pytest.fixture
def gate() -> Iterator[tuple[StreamGate, NullPlayer]]:
    inner = NullPlayer()
    g = StreamGate(inner, LOCAL, timeout_s=2.0)
    yield g, inner
    g.close()


def test_local_files_pass_straight_through(gate: tuple[StreamGate, NullPlayer]) -> None:
    g, inner = gate
    events = Events()
    g.play("a", "/var/lib/loa/cache/objects/abc", volume_pct=70, on_event=events)
    assert inner.history[-1].source == "/var/lib/loa/cache/objects/abc" and events.seen == [("a", "started", "")]


@pytest.mark.parametrize(("url", "code"), [
    ("file:///etc/passwd", "source_refused"),
    ("rtsp://127.0.0.1/live", "source_refused"),
    ("http://localhost/live", "source_refused"),  # not in the allow-list
])
def test_refused_sources_never_reach_the_player(gate: tuple[StreamGate, NullPlayer], url: str, code: str) -> None:
    g, inner = gate
    events = Events()
    g.play("s", url, volume_pct=70, on_event=events)
    assert events.wait(1) == [("s", sp.FAILED, code)] and inner.history == []


def test_plain_http_streams_need_a_listed_host(http_server: AudioHttpServer) -> None:
    inner, events = NullPlayer(), Events()
    g = StreamGate(inner, SourcePolicy(), timeout_s=2.0)
    try:
        g.play("s", http_server.url("/files/x"), volume_pct=70, on_event=events)
        assert events.wait(1) == [("s", sp.FAILED, "source_refused")] and inner.history == []
    finally:
        g.close()


def test_a_redirect_to_a_file_is_refused_before_the_player_hears_of_it(gate: tuple[StreamGate, NullPlayer],
                                                                       http_server: AudioHttpServer) -> None:
    g, inner = gate
    events = Events()
    http_server.routes.redirects["f"] = "file:///etc/passwd"
    g.play("s", http_server.url("/redirect/f"), volume_pct=70, on_event=events)
    assert events.wait(1) == [("s", sp.FAILED, "redirect_refused")] and inner.history == []


def test_an_allowed_stream_reaches_the_player_through_the_relay_only(gate: tuple[StreamGate, NullPlayer],
                                                                    http_server: AudioHttpServer) -> None:
    g, inner = gate
    events = Events()
    http_server.routes.files["radio"] = b"ID3-not-really-audio" * 100
    http_server.routes.redirects["r"] = "/files/radio"  # an allowed hop
    g.play("s", http_server.url("/redirect/r"), volume_pct=70, on_event=events)
    assert events.wait(1) == [("s", sp.STARTED, "")]
    assert inner.history[-1].source.endswith("/files/radio")  # the checked final URL, under the relay
    relayed = inner.history[-1].source
    assert relayed.startswith("http://127.0.0.1:") and str(http_server.server_address[1]) not in relayed
    with urllib.request.urlopen(relayed, timeout=5) as resp:  # what libVLC would read
        assert resp.read() == http_server.routes.files["radio"]
    http_server.routes.redirects["r2"] = "file:///etc/passwd"  # a later request (an HLS segment) is checked too
    with pytest.raises(urllib.error.HTTPError, match="403"):
        urllib.request.urlopen(relayed.replace("/files/radio", "/redirect/r2"), timeout=5)
    inner.fail(sp.SOURCE_UNREACHABLE)
    assert events.seen[-1] == ("s", sp.FAILED, "redirect_refused")


def test_hls_playlists_are_checked_and_rewritten(gate: tuple[StreamGate, NullPlayer],
                                                 http_server: AudioHttpServer) -> None:
    g, inner = gate
    port = http_server.server_address[1]
    http_server.routes.files["ok.m3u8"] = f"#EXTM3U\n#EXTINF:2,\nhttp://127.0.0.1:{port}/files/seg1.ts\n".encode()
    http_server.routes.files["bad.m3u8"] = f"#EXTM3U\n#EXTINF:2,\nhttp://localhost:{port}/files/seg1.ts\n".encode()
    http_server.routes.files["seg1.ts"] = b"segment"
    g.play("ok", http_server.url("/files/ok.m3u8"), volume_pct=70, on_event=Events())
    handed(inner, 1)
    with urllib.request.urlopen(inner.history[-1].source, timeout=5) as resp:
        segment_url = resp.read().decode().splitlines()[-1]
    assert segment_url.startswith("http://127.0.0.1:") and f":{port}/" not in segment_url
    with urllib.request.urlopen(segment_url, timeout=5) as resp:
        assert resp.read() == b"segment"
    g.play("bad", http_server.url("/files/bad.m3u8"), volume_pct=70, on_event=Events())
    handed(inner, 3)  # stop "ok", play "bad"
    with pytest.raises(urllib.error.HTTPError, match="403"):
        urllib.request.urlopen(inner.history[-1].source, timeout=5)


def test_a_stop_during_the_check_never_reaches_the_player(gate: tuple[StreamGate, NullPlayer]) -> None:
    g, inner = gate
    events = Events()
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts the connection, never answers
        g.play("s", f"http://127.0.0.1:{silent.getsockname()[1]}/never", volume_pct=70, on_event=events)
        g.stop("s")
    assert events.wait(1) == [("s", sp.STOPPED, "")]
    time.sleep(0.3)
    assert inner.history == [] and events.seen == [("s", sp.STOPPED, "")]
