"""Fixtures for the sound-adapter tests: real media files, a real HTTP server (in a thread or its own process)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.agent.adapters.audio.audio_http_server import AudioHttpServer, Routes
from tests.agent.adapters.audio.sound_helpers import encode, make_tone_wav

SERVER_SCRIPT = Path(__file__).with_name("audio_http_server.py")
LIVE_BYTES_PER_S = 8000  # loop.mp3 is 64 kbit/s CBR


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real audio made by sox and ffmpeg: a 3 s tone as WAV, MP3, AAC (M4A), Opus; a loop for live streams."""
    root = tmp_path_factory.mktemp("media")
    wav = make_tone_wav(root / "tone.wav", 3.0)
    mono = make_tone_wav(root / "mono.wav", 2.0, channels=1)
    return {
        "wav": wav,
        "mp3": encode(wav, root / "tone.mp3", "-c:a", "libmp3lame", "-b:a", "128k"),
        "aac": encode(wav, root / "tone.m4a", "-c:a", "aac", "-b:a", "96k"),
        "opus": encode(wav, root / "tone.opus", "-c:a", "libopus", "-b:a", "64k"),
        # no ID3 or Xing header: a cut anywhere is still a valid MP3 stream, like a radio's
        "loop": encode(mono, root / "loop.mp3", "-c:a", "libmp3lame", "-b:a", "64k", "-write_xing", "0",
                       "-id3v2_version", "0"),
    }


@pytest.fixture
def http_server() -> Iterator[AudioHttpServer]:
    """An in-thread server; tests fill `http_server.routes` and read `routes.seen`."""
    server = AudioHttpServer(Routes()).start()
    yield server
    server.stop()


@pytest.fixture
def live_server(media: dict[str, Path]) -> Iterator[Callable[[], tuple[str, subprocess.Popen[str]]]]:
    """Start the server as its own process serving /live/radio, so a test can SIGKILL or SIGSTOP it."""
    procs: list[subprocess.Popen[str]] = []

    def start() -> tuple[str, subprocess.Popen[str]]:
        argv = [sys.executable, str(SERVER_SCRIPT), "--live", f"radio={media['loop']}",
                "--rate", str(LIVE_BYTES_PER_S)]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        return f"http://127.0.0.1:{port}/live/radio", proc

    yield start
    for proc in procs:
        proc.kill()  # SIGKILL also ends a SIGSTOPped process
        proc.wait()
