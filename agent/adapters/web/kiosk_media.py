"""The kiosk's media, for agent.adapters.web.http_pages: the verified image or video file of the bulletin on screen
(served by its content type, videos in byte ranges so the browser can seek and loop), and the reports of the
page's player (a video played to its end, or one the browser cannot decode), checked before they reach the loop.

Standard library only; must not import the core's desks, the runtime, or any other adapter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from agent.core.events import Event, PlayerEvent

MAGIC = ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"),
         (b"\x1a\x45\xdf\xa3", "video/webm"), (b"OggS", "video/ogg"))
REPORT_KINDS = ("finished", "failed")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


def content_type(head: bytes) -> str | None:
    """The type of a file from its first bytes; None when the page would not know what to do with it."""
    found = next((t for magic, t in MAGIC if head.startswith(magic)), None)
    if found is None and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if found is None and head[4:8] == b"ftyp":
        return "video/mp4"  # plays only where the board's browser has the codec
    return found


def shown_file(view: dict[str, Any], kind: str, sha256: str, same: Callable[[str, str], bool]) -> Path | None:
    """The verified file of the bulletin on screen when `sha256` names it; never any other path."""
    shown = ((view.get("board") or {}).get("showing") or {}).get(kind) or {}
    if not shown.get("file") or not same(shown.get("sha256", ""), sha256):
        return None
    return Path(shown["file"])


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) bytes a Range header asks for; the whole file without one; None when it cannot
    be served (416). One range only, which is what browsers ask of media."""
    if not header:
        return (0, size - 1) if size else None
    match = _RANGE.match(header.strip())
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size - 1  # the last N bytes
    else:
        start, end = int(first), min(size - 1, int(last)) if last else size - 1
    return (start, end) if start <= end < size else None


def copy_range(f: BinaryIO, write: Callable[[bytes], object], start: int, end: int) -> None:
    """Bytes start..end of the file, a chunk at a time (a video may be larger than the agent should hold)."""
    f.seek(start)
    left = end - start + 1
    while left > 0 and (data := f.read(min(CHUNK, left))):
        write(data)
        left -= len(data)


def report_event(body: bytes, view: dict[str, Any]) -> Callable[[int], Event] | None:
    """The page's report as an event factory, or None unless it is well formed and about the bulletin on screen."""
    try:
        report = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(report, dict):
        return None
    play_id, kind, detail = report.get("play_id"), report.get("kind"), report.get("detail", "")
    shown = ((view.get("board") or {}).get("showing") or {}).get("play_id")
    if kind not in REPORT_KINDS or not isinstance(detail, str) or not shown or play_id != shown:
        return None
    return lambda now: PlayerEvent(now, shown, kind, detail[:200])

