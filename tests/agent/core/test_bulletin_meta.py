"""Bulletin metadata (`bulletin` on play, store and display) is echoed unchanged in play logs and display logs:
what the province's system (HTTTN) needs for its bulletin log. Validated against the published report schemas."""

from __future__ import annotations

from typing import Any

from agent.core.schemas import validator
from tests.agent.core.device_helpers import T0
from tests.agent.core.test_eboard import world as board_world
from tests.agent.core.test_sound import FILE, send
from tests.agent.core.test_sound import world as sound_world

META: dict[str, Any] = {
    "id": "BT-2026-0042", "title": "Thông báo phòng chống bão số 9", "field": "2", "summary": "Bão số 9 đổ bộ…",
    "author": {"name": "Nguyễn Văn A", "pen_name": "Văn A", "email": "a@example.vn"}, "source": "Đài tỉnh",
    "produced_at": "2026-12-07T08:00:00+07:00", "origin": "central",
}


def test_a_play_log_echoes_the_bulletin_metadata_of_its_command() -> None:
    w = sound_world()
    send(w, "play", {"source": FILE, "bulletin": META}, "p1")
    w.run_until(T0 + 10_000)
    log = w.playlogs()[0]
    assert log["bulletin"] == META
    assert not list(validator("playlog").iter_errors({"dev": "d1", **log}))


def test_a_stored_bulletins_metadata_rides_on_every_play_of_its_ref() -> None:
    w = sound_world()
    send(w, "store", {"id": "b1", "url": "http://x/b.mp3", "sha256": "c" * 64, "bulletin": META}, "st")
    w.run_until(T0 + 100)
    send(w, "play", {"source": {"ref": "b1"}}, "r1")
    w.run_until(T0 + 10_000)
    assert w.playlogs()[0]["bulletin"] == META


def test_a_play_without_metadata_logs_none() -> None:
    w = sound_world()
    send(w, "play", {"source": FILE}, "p1")
    w.run_until(T0 + 10_000)
    assert "bulletin" not in w.playlogs()[0]


def test_bad_metadata_is_refused_by_the_schema() -> None:
    w = sound_world()
    send(w, "play", {"source": FILE, "bulletin": {"title": "no id"}}, "p1")
    w.run_until(T0 + 1000)
    assert w.ack_codes("p1") == ["bad_args"]


def test_a_display_log_echoes_the_bulletin_metadata() -> None:
    w = board_world()
    send(w, "display", {"text": "Lịch tiêm chủng", "duration_s": 5, "bulletin": META}, "d1")
    w.run_until(T0 + 10_000)
    log = next(m for k, m in w.published if k == "displaylog")
    assert log["bulletin"] == META
    assert not list(validator("displaylog").iter_errors({"dev": "d1", **log}))
