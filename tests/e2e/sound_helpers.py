"""Helpers for end-to-end sound tests: a unit that writes each play's decoded audio to WAV files."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import Unit

FAST_POWER = {"warmup_s": 0.2, "tail_s": 0.5, "stagger_s": 0.1}


# The test servers are plain http on 127.0.0.1: a unit must list that host before it plays a plain-http stream.
LOCAL_STREAMS = {"plain_http_stream_hosts": ["127.0.0.1"]}


def sound_unit(make_unit: Callable[..., Unit], quiet_hours: str = "off", mqtt: dict[str, Any] | None = None,
               sources: dict[str, Any] | None = None, **audio: Any) -> Unit:
    sections: dict[str, Any] = {"mqtt": mqtt} if mqtt else {}
    sections["sources"] = LOCAL_STREAMS if sources is None else sources
    return make_unit(audio={"output": "wav:wavs", "quiet_hours": quiet_hours, **FAST_POWER, **audio}, **sections)


def wav_of(unit: Unit, play_id: str) -> Path:
    return unit.dir / "wavs" / f"{play_id}.wav"


def file_source(server: Any, name: str, body: bytes) -> dict[str, str]:
    server.routes.files[name] = body
    return {"url": server.url(f"/files/{name}"), "sha256": hashlib.sha256(body).hexdigest()}
