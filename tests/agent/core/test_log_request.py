"""The unsigned log request: answered with the staff log lines or play logs on the unit's logs topic, at most once per
10 s, never for a retained or malformed request, and never mistaken for a command."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.core.device import Device
from agent.core.effects import Effect, Publish
from agent.core.events import MessageArrived
from agent.core.log_request import ANSWER_GAP_MS
from agent.core.topics import Target, Topics
from tests.agent.core.device_helpers import T0, make_device

T = Topics()
OWN = T.log_request(Target("dev", "d1"))
GROUP = T.log_request(Target("grp", "g1"))


def answers(effects: list[Effect]) -> list[dict[str, Any]]:
    return [json.loads(e.payload) for e in effects if isinstance(e, Publish) and e.topic == "loa/v1/dev/d1/logs"]


def ask(device: Device, now: int, body: dict[str, Any] | bytes, topic: str = OWN, retained: bool = False) -> list[Effect]:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return device.handle(MessageArrived(now, topic, payload, retained))


def test_a_request_is_answered_with_the_staff_lines_and_no_ack() -> None:
    device = make_device()
    effects = ask(device, T0 + 5, {"id": "r1"})
    [answer] = answers(effects)
    assert answer["dev"] == "d1" and answer["request"] == "r1" and answer["kind"] == "lines"
    assert [e["key"] for e in answer["entries"]] == ["agent_started", "link_up"]
    assert not [e for e in effects if isinstance(e, Publish) and e.topic.endswith("/ack")]


def test_the_group_topic_works_and_filters_apply() -> None:
    device = make_device()
    device.log("warning", "link_down", reason="x", retry_s=1)
    [answer] = answers(ask(device, T0 + 5, {"id": "r2", "level": "warning"}, topic=GROUP))
    assert [e["key"] for e in answer["entries"]] == ["link_down"]


def test_one_answer_per_ten_seconds_whoever_asks() -> None:
    device = make_device()
    assert answers(ask(device, T0 + 1000, {"id": "a"}))
    for t in (T0 + 1001, T0 + 5000, T0 + 1000 + ANSWER_GAP_MS - 1):
        assert not answers(ask(device, t, {"id": "b"}, topic=GROUP))
    assert answers(ask(device, T0 + 1000 + ANSWER_GAP_MS, {"id": "c"}))


@pytest.mark.parametrize("payload", [b"", b"not json", b"[]", b'{"kind": "lines"}', b'{"id": "x", "cmd": "play"}',
                                     b'{"id": "x", "limit": 9999}'])
def test_malformed_requests_are_dropped_silently(payload: bytes) -> None:
    device = make_device()
    assert ask(device, T0 + 5, payload) == []  # no answer, no ack, no log line
    assert answers(ask(device, T0 + 6, {"id": "ok"}))  # a dropped request does not count against the limit


def test_a_retained_request_is_not_answered() -> None:
    device = make_device()
    assert not answers(ask(device, T0 + 5, {"id": "r"}, retained=True))


def test_a_step_back_of_the_clock_does_not_silence_the_unit() -> None:
    device = make_device()
    assert answers(ask(device, T0 + 60_000, {"id": "a"}))
    assert answers(ask(device, T0 + 1000, {"id": "b"}))  # earlier than the last answer: the clock stepped back


def test_a_playlog_request_sends_the_play_logs() -> None:
    device = make_device()
    device.state.playlogs.append({"ts": T0, "jti": "j", "result": "completed"})
    [answer] = answers(ask(device, T0 + 5, {"id": "p", "kind": "playlog"}))
    assert answer["kind"] == "playlog" and answer["entries"][0]["jti"] == "j"
