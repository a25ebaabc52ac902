"""The unit's status page rendered in `vi`, with a log line of every level, a play of every result and a bulletin on
the board: no English word outside the technical tokens (the values used to be shown as the code spells them)."""

from __future__ import annotations

import html
import re
from zoneinfo import ZoneInfo

from agent.adapters.web import render
from tests.i18n.english_words import english_in, english_words

LEVELS = ("debug", "info", "warning", "error")
RESULTS = ("completed", "preempted", "stopped", "replaced", "failed", "expired")


def visible_text(page: str) -> str:
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_the_status_page_in_vietnamese_has_no_english_word() -> None:
    logs = [{"ts": 1_700_000_000, "level": level, "key": "agent_started", "params": {"version": "1.0"}}
            for level in LEVELS]
    plays = [{"ended_ts": 1_700_000_000, "title": "Bản tin", "jti": f"j{i}", "result": r}
             for i, r in enumerate(RESULTS)]
    view = {"status": {"dev": "gl-0042", "role": "eboard", "relays": {"1": True}, "errors": [], "clock_synced": True},
            "logs": logs, "playlogs": plays,
            "board": {"showing": {"title": "Lũ quét", "text": "Sơ tán ngay", "priority": "emergency"}}}
    text = visible_text(render.status_page("vi", "gl-0042", view, ZoneInfo("Asia/Ho_Chi_Minh"), "tok"))
    assert "cảnh báo" in text and "hoàn thành" in text and "khẩn cấp" in text, text
    assert english_in(text, english_words()) == [], text
