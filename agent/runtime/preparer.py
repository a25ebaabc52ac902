"""Makes sources playable off the loop thread: downloads into the verified cache, or speech from text.

Two lanes, so an emergency never waits: a job marked `pin` (the core pins exactly what an emergency plays, and what
a `store` keeps for emergencies) runs at once on a thread of its own; every other job goes through one worker, in
arrival order. A normal download that trickles therefore holds up only the normal lane, and only until the cache's
overall download deadline (`download_timeout`). Results go back to the loop as Prepared / PrepareFailed events.
Must not import paho, vlc or any hardware library; it talks to the cache and the synthesizer through their ports.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.core.events import Event, Prepared, PrepareFailed
from agent.errors import LoaError
from agent.ports import AudioCache, SpeechSynth

Deliver = Callable[[Callable[[int], Event]], None]  # hands an event factory (given the time) to the loop
STORE_PREFIX = "store:"  # the core's play_id for a `store` job: its `pin` is the command's, so false means unpin


class Preparer:
    def __init__(self, cache: AudioCache, synth: SpeechSynth, deliver: Deliver) -> None:
        self.cache, self.synth, self.deliver = cache, synth, deliver
        self._jobs: queue.Queue[tuple[str, dict[str, Any], bool] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="prepare", daemon=True)
        self._thread.start()

    def submit(self, play_id: str, source: dict[str, Any], pin: bool) -> None:
        if pin:  # emergency audio: its own thread, never behind the normal lane (emergencies are few and signed)
            threading.Thread(target=self._run, args=(play_id, source, pin), name="prepare-emergency",
                             daemon=True).start()
        else:
            self._jobs.put((play_id, source, pin))

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._run(*job)

    def _run(self, play_id: str, source: dict[str, Any], pin: bool) -> None:
        try:
            media = str(self._resolve(play_id, source, pin))
        except LoaError as exc:
            code, msg = exc.code, str(exc)
            self.deliver(failed_event(play_id, code, msg))
        except OSError as exc:  # a full disk or a vanished folder: a clear failure, never a dead worker
            msg = f"cannot write audio: {exc.strerror or exc}"
            self.deliver(failed_event(play_id, "storage_error", msg))
        except Exception as exc:  # noqa: BLE001 - any other fault fails this play, never the worker (e.g. blank tts)
            msg = f"cannot prepare the source ({exc.__class__.__name__}: {exc})"
            self.deliver(failed_event(play_id, "audio_error", msg))
        else:
            self.deliver(prepared_event(play_id, media))

    def _resolve(self, play_id: str, source: dict[str, Any], pin: bool) -> Path:
        if "tts" in source:
            return self.synth.synthesize(source["tts"], source.get("lang", "vi"))
        if pin:
            self.cache.pin(source["sha256"])
        elif play_id.startswith(STORE_PREFIX):
            self.cache.unpin(source["sha256"])  # `store` with pin: false releases emergency audio kept before
        return self.cache.path_for(source["sha256"]) or self.cache.fetch(source["url"], source["sha256"], pin=pin)

    def close(self) -> None:
        self._jobs.put(None)


def prepared_event(play_id: str, media: str) -> Callable[[int], Event]:
    """The event, made with the time the loop handles it at."""
    return lambda now: Prepared(now, play_id, media)


def failed_event(play_id: str, code: str, msg: str) -> Callable[[int], Event]:
    """The event, made with the time the loop handles it at; `code` goes into the failed ack (docs/protocol.md)."""
    return lambda now: PrepareFailed(now, play_id, code, msg)
