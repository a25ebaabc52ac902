"""Video and live streams on an e-board, the pure part of the display desk (agent.core.eboard): which file a bulletin
needs downloaded (an image or a video, verified against its SHA-256 like audio), what it is called in reports, what
the kiosk page draws, what the display log proves, whether a live URL passes the unit's source policy, and what a
report of the board's own player (the kiosk page) means for the bulletin on screen.

Pure: must not import adapters, the runtime or any I/O module; the desk imports it, never the other way round.
"""

from __future__ import annotations

from typing import Any, Protocol

from agent.core.sources import SourcePolicy, public_url

KINDS = ("text", "image", "video", "live")


class Bulletin(Protocol):
    """What this module reads of the desk's bulletin (agent.core.eboard.Bulletin)."""

    play_id: str
    media: str | None
    text: str
    image: dict[str, str] | None
    video: dict[str, Any] | None
    live: dict[str, str] | None


def download(b: Bulletin) -> dict[str, str] | None:
    """The file to fetch and verify before the bulletin can show, or None (text and live streams need none)."""
    media = b.image or b.video
    return None if media is None else {"url": media["url"], "sha256": media["sha256"]}


def content(b: Bulletin) -> str:
    return "+".join(k for k, v in zip(KINDS, (b.text, b.image, b.video, b.live), strict=True) if v)


def refusal(b: Bulletin, policy: SourcePolicy) -> str | None:
    """Why the live stream may not be shown (the board's browser fetches it, so the agent judges it first)."""
    return None if b.live is None else policy.refusal(b.live["url"], stream=True)


def record(b: Bulletin) -> dict[str, Any]:
    """What the display log proves about the media: hashes of files, the stream's address without its signature."""
    body: dict[str, Any] = {}
    if b.image:
        body["image_sha256"] = b.image["sha256"]
    if b.video:
        body |= {"video_sha256": b.video["sha256"], "loop": bool(b.video.get("loop", False))}
    if b.live:
        body["live_url"] = public_url(b.live["url"])
    return body


def view(b: Bulletin) -> dict[str, Any]:
    """What the kiosk page draws besides the text (files as their verified local path; the page server maps them)."""
    file = b.media or ""
    return {
        "play_id": b.play_id,
        "image": None if b.image is None else {"sha256": b.image["sha256"], "file": file},
        "video": None if b.video is None else {"sha256": b.video["sha256"], "file": file,
                                                "loop": bool(b.video.get("loop", False))},
        "live": None if b.live is None else {"url": b.live["url"]},
    }


def page_report(b: Bulletin, kind: str, detail: str) -> tuple[str, str, str, str] | None:
    """The end (state, display-log result, message, code) that a report of the board's player means, or None.
    Only a video ends on its own: played once to its end, or not decodable by the board's browser. A looped video
    has no end of its own, and a live stream that drops is tried again by the page until `until` or a `stop`."""
    if b.video is None:
        return None
    if kind == "finished" and not b.video.get("loop", False):
        return "finished", "completed", "the video played to its end", "ok"
    if kind == "failed":
        return "failed", "failed", f"the board's browser cannot play the video ({detail[:120]})", "decode_error"
    return None
