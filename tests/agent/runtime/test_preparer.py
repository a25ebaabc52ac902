"""The preparer turns every fault into a failed play and keeps working (a blank tts once killed its thread)."""

from __future__ import annotations

import queue
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
