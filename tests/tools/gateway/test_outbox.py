"""The outbox: a log is kept once however often a unit re-sends it, a ping replaces the unit's previous one, what is
claimed is leased, and what was not sent is still there after the gateway restarts."""

from __future__ import annotations

from pathlib import Path

from tools.gateway.outbox import LEASE_MS, Outbox
from tools.gateway.sender import backoff_ms


def test_a_log_is_kept_once_and_survives_a_restart(tmp_path: Path):
    box = Outbox(tmp_path / "o.sqlite")
    assert box.add_log("bulletin_log:u1:j1", "bulletin_log", "", {"A": "ă"})
    assert not box.add_log("bulletin_log:u1:j1", "bulletin_log", "", {"A": "ă"})
    box.close()
    box = Outbox(tmp_path / "o.sqlite")
    item = box.claim(1000)
    assert item is not None and item.body == {"A": "ă"} and item.kind == "bulletin_log"
    assert box.claim(1000) is None  # leased
    box.sent(item, 1000)
    assert not box.add_log("bulletin_log:u1:j1", "bulletin_log", "", {"A": "ă"})  # sent already: not twice


def test_a_ping_replaces_the_units_pending_ping(tmp_path: Path):
    box = Outbox(tmp_path / "o.sqlite")
    box.put_ping("ping:u1", "", {"n": 1})
    box.put_ping("ping:u1", "", {"n": 2})
    item = box.claim(0)
    assert item is not None and item.body == {"n": 2}
    assert box.claim(0) is None


def test_a_retry_waits_and_a_lost_lease_comes_back(tmp_path: Path):
    box = Outbox(tmp_path / "o.sqlite")
    box.add_log("k", "bulletin_log", "", {})
    item = box.claim(0)
    assert item is not None
    box.retry(item, 5000, "down")
    assert box.claim(4999) is None
    again = box.claim(5000)
    assert again is not None and again.attempts == 1
    assert box.claim(5000 + LEASE_MS) is not None  # a sender that died holding it does not lose it


def test_backoff_is_full_jitter_under_the_cap():
    values = [backoff_ms(a, 1.0, 30.0) for a in range(40) for _ in range(20)]
    assert all(0 <= v <= 30_000 for v in values)
    assert max(values) > 15_000 and min(values) < 1_000
