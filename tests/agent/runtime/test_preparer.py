"""The preparer turns every fault into a failed play and keeps working (a blank tts once killed its thread)."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from agent.core.events import Event, Prepared, PrepareFailed
from agent.runtime.preparer import Preparer


class Synth:
    def synthesize(self, text: str, lang: str) -> Path:
        if not text.strip():
            raise ValueError("text must not be blank")
        return Path(f"/tts/{lang}.wav")


class NoCache:
    def path_for(self, sha256: str) -> Path | None:
        return None

    def fetch(self, url: str, sha256: str, *, pin: bool = False) -> Path:
        raise OSError(28, "No space left on device")

    def pin(self, sha256: str) -> None: ...
    def unpin(self, sha256: str) -> None: ...


def test_faults_fail_the_play_and_the_worker_goes_on() -> None:
    events: queue.Queue[Event] = queue.Queue()
    preparer = Preparer(NoCache(), Synth(), lambda make: events.put(make(0)))
    preparer.submit("blank", {"tts": "   "}, False)
    preparer.submit("disk", {"url": "http://x/a.mp3", "sha256": "a" * 64}, False)
    preparer.submit("fine", {"tts": "Xin chào", "lang": "vi"}, False)
    got = [events.get(timeout=5) for _ in range(3)]
    preparer.close()
    assert isinstance(got[0], PrepareFailed) and got[0].code == "audio_error"
    assert isinstance(got[1], PrepareFailed) and got[1].code == "storage_error" and "No space" in got[1].msg
    assert got[2] == Prepared(0, "fine", "/tts/vi.wav")


class StuckCache(NoCache):
    """A normal download that never ends (a trickling server), and a record of pins."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.pins: list[str] = []

    def fetch(self, url: str, sha256: str, *, pin: bool = False) -> Path:
        self.release.wait(10)
        return Path(f"/cache/{sha256}")

    def pin(self, sha256: str) -> None:
        self.pins.append(sha256)

    def unpin(self, sha256: str) -> None:
        self.pins.remove(sha256)


def test_an_emergency_never_waits_behind_a_stuck_normal_download() -> None:
    events: queue.Queue[Event] = queue.Queue()
    cache = StuckCache()
    preparer = Preparer(cache, Synth(), lambda make: events.put(make(0)))
    preparer.submit("normal", {"url": "http://x/slow.mp3", "sha256": "b" * 64}, False)
    preparer.submit("later-normal", {"tts": "Bản tin", "lang": "vi"}, False)
    preparer.submit("emergency", {"tts": "Khẩn cấp", "lang": "vi"}, True)
    assert events.get(timeout=2) == Prepared(0, "emergency", "/tts/vi.wav")  # before the stuck download ends
    cache.release.set()
    later = [events.get(timeout=5) for _ in range(2)]
    assert [e.play_id for e in later if isinstance(e, Prepared | PrepareFailed)] == ["normal", "later-normal"]  # in order
    preparer.close()


def test_a_store_without_pin_releases_the_pin_and_a_play_never_does() -> None:
    events: queue.Queue[Event] = queue.Queue()
    cache = StuckCache()
    cache.release.set()
    preparer = Preparer(cache, Synth(), lambda make: events.put(make(0)))
    source = {"url": "http://x/flood.mp3", "sha256": "c" * 64}
    preparer.submit("store:j1", source, True)
    events.get(timeout=5)
    preparer.submit("normal-play", source, False)
    events.get(timeout=5)
    assert cache.pins == ["c" * 64]
    preparer.submit("store:j2", source, False)
    events.get(timeout=5)
    assert cache.pins == []
    preparer.close()
