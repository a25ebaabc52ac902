"""The kiosk's video over real sockets: only the verified file on screen, in the byte ranges a browser asks for, with
a policy that lets the page play a live stream; and the page's player reports, which reach the loop only when they
are well formed and about the bulletin on screen."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from agent.adapters.web import kiosk_media
from agent.core.events import PlayerEvent
from tests.agent.adapters.web.test_http_pages import call, server

__all__ = ["server"]

WEBM = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 40  # an EBML header and 10,240 bytes of body


def get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read()


def post(url: str, body: bytes) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def showing(tmp_path: Path, **media: Any) -> dict[str, Any]:
    return {"board": {"version": 1, "showing": {"jti": "v1", "play_id": "board:v1", "title": "", "priority": "normal",
                                                "mode": "page", "text": "", "image": None, "video": None, "live": None,
                                                **media}}}


def test_the_kiosk_serves_the_video_on_screen_in_byte_ranges(server, tmp_path: Path) -> None:
    pages, _ = server
    (tmp_path / "clip").write_bytes(WEBM)
    pages.publish(showing(tmp_path, video={"sha256": "c" * 64, "file": str(tmp_path / "clip"), "loop": True}))
    state = json.loads(call(pages.kiosk_url + "state")[2])["showing"]
    assert state["video"] == {"url": "video/" + "c" * 64, "loop": True} and state["play_id"] == "board:v1"
    url = pages.kiosk_url + "video/" + "c" * 64
    status, headers, body = get(url, {})
    assert (status, headers["Content-Type"], body) == (200, "video/webm", WEBM)
    status, headers, body = get(url, {"Range": "bytes=100-199"})
    assert (status, headers["Content-Range"], body) == (206, f"bytes 100-199/{len(WEBM)}", WEBM[100:200])
    status, headers, body = get(url, {"Range": "bytes=10000-"})
    assert (status, body) == (206, WEBM[10000:])
    assert get(url, {"Range": "bytes=-16"})[2] == WEBM[-16:]
    assert get(url, {"Range": f"bytes={len(WEBM)}-"})[0] == 416
    assert get(pages.kiosk_url + "video/" + "d" * 64, {})[0] == 404  # not the one on screen
    assert get(pages.kiosk_url + "image/" + "c" * 64, {})[0] == 404  # the video is not an image
    assert "media-src 'self' http: https:" in call(pages.kiosk_url)[1]["Content-Security-Policy"]


def test_a_file_that_is_not_a_video_is_never_served_as_one(server, tmp_path: Path) -> None:
    pages, _ = server
    (tmp_path / "page").write_bytes(b"<script>alert(1)</script>")
    pages.publish(showing(tmp_path, video={"sha256": "c" * 64, "file": str(tmp_path / "page"), "loop": False}))
    assert get(pages.kiosk_url + "video/" + "c" * 64, {})[0] == 415


def test_only_a_well_formed_report_about_the_bulletin_on_screen_reaches_the_loop(server, tmp_path: Path) -> None:
    pages, posted = server
    pages.publish(showing(tmp_path, video={"sha256": "c" * 64, "file": "", "loop": False}))
    report = pages.kiosk_url + "report"
    wrong_token = report.replace("/kiosk/", "/kiosk/x")
    assert post(wrong_token, json.dumps({"play_id": "board:v1", "kind": "finished"}).encode()) == 404
    for body in (b"{", b"[]", json.dumps({"play_id": "board:v0", "kind": "finished"}).encode(),
                 json.dumps({"play_id": "board:v1", "kind": "started"}).encode(),
                 json.dumps({"play_id": "board:v1", "kind": "failed", "detail": 4}).encode()):
        assert post(report, body) == 409, body
    assert post(report, b"x" * 5000) == 404  # longer than any report: refused before it is read
    assert not posted
    assert post(report, json.dumps({"play_id": "board:v1", "kind": "finished"}).encode()) == 204
    assert [make(7) for make in posted] == [PlayerEvent(7, "board:v1", "finished", "")]


def test_byte_ranges_and_content_types() -> None:
    assert kiosk_media.byte_range(None, 10) == (0, 9)
    assert kiosk_media.byte_range("bytes=2-", 10) == (2, 9)
    assert kiosk_media.byte_range("bytes=2-100", 10) == (2, 9)
    assert kiosk_media.byte_range("bytes=-3", 10) == (7, 9)
    assert [kiosk_media.byte_range(h, 10) for h in ("bytes=-", "bytes=5-2", "bytes=10-", "items=0-1", "bytes=0-1,3-4")] \
        == [None] * 5
    assert kiosk_media.byte_range(None, 0) is None
    assert kiosk_media.content_type(b"OggS\x00") == "video/ogg"
    assert kiosk_media.content_type(b"\x00\x00\x00\x18ftypisom") == "video/mp4"
    assert kiosk_media.content_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert kiosk_media.content_type(b"<html>") is None
