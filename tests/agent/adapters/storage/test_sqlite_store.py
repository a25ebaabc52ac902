"""The durable store: outbox rows survive a reopen, rejections are evicted first, seen ids expire."""

from __future__ import annotations

from pathlib import Path

from agent.adapters.storage.sqlite_store import SqliteStore


def test_outbox_survives_reopen_in_order(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    ids = [store.outbox_add("t", f"m{i}".encode(), 1, "ack", i) for i in range(3)]
    store.outbox_delete(ids[0])
    store.close()
    again = SqliteStore(tmp_path / "s.db")
    assert [r.payload for r in again.outbox_pending(10, set())] == [b"m1", b"m2"]
    assert [r.payload for r in again.outbox_pending(10, {ids[1]})] == [b"m2"]
    assert again.integrity_ok()


def test_a_full_outbox_drops_rejections_of_hostile_commands_first(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db", max_outbox_rows=100)
    for i in range(60):
        store.outbox_add("t", b"real", 1, "ack", i)
    for i in range(80):
        store.outbox_add("t", b"noise", 1, "reject", i)
    rows = store.outbox_pending(200, set())
    assert len(rows) == 100 and sum(r.payload == b"real" for r in rows) == 60


def test_seen_command_ids_expire_and_settings_persist(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.remember_command("old", 100, now_s=50)
    store.remember_command("new", 300, now_s=50)
    store.save_setting("heartbeat_s", 30)
    store.close()
    again = SqliteStore(tmp_path / "s.db")
    assert again.seen_commands(200) == {"new": 300}
    assert again.settings() == {"heartbeat_s": 30}


def test_an_unwritable_store_is_a_clear_error(tmp_path: Path) -> None:
    import pytest

    from agent.errors import StoreError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open the store"):
        SqliteStore(blocker / "sub" / "s.db")
