"""The [time] section: the Vietnamese NTP pool by default, polled every 300 s (15 s while the time is not trusted);
server names and periods are checked with the rest of the file."""

from __future__ import annotations

import pytest

from agent.config import unit as config
from agent.errors import ConfigError

BASE = {"device": {"id": "u1"}, "mqtt": {"url": "mqtts://b"}, "trust": {"jwks": "t.jwks"}}


def test_defaults() -> None:
    t = config.parse(BASE).time
    assert t.ntp_servers == ("0.vn.pool.ntp.org", "1.vn.pool.ntp.org")
    assert (t.ntp_poll_s, t.ntp_untrusted_poll_s) == (300, 15)


def test_servers_may_be_none_or_carry_a_port() -> None:
    assert config.parse(BASE | {"time": {"ntp_servers": []}}).time.ntp_servers == ()
    assert config.parse(BASE | {"time": {"ntp_servers": ["127.0.0.1:1123"]}}).time.ntp_servers == ("127.0.0.1:1123",)


def test_every_problem_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        config.parse(BASE | {"time": {"ntp_servers": ["a b"], "ntp_poll_s": 1, "ntp_untrusted_poll_s": 0, "ntp": 1}})
    text = str(caught.value)
    for key in ("time.ntp_servers", "time.ntp_poll_s", "time.ntp_untrusted_poll_s", "time.ntp"):
        assert key in text, text
