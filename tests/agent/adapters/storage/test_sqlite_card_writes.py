"""What the store costs an SD card, read from /proc/self/io (write_bytes: page-cache pages this process dirtied).
A sent row's deletion needs no flush of its own (a lost deletion only sends the row again), and a flush per
deletion would re-dirty the WAL's last page every time; the rows themselves stay flushed before they are sent."""

from __future__ import annotations

from pathlib import Path

from agent.adapters.storage.sqlite_store import SqliteStore

PAGE = 4096
ROWS = 40


def written() -> int:
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["write_bytes"])


def test_deleting_sent_rows_costs_about_one_page_each_and_the_store_stays_full_sync(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "agent.sqlite3")
    ids = [store.outbox_add("loa/v1/dev/a/ack", b"{}" * 150, 1, "ack", 1) for _ in range(ROWS)]
    before = written()
    for row_id in ids:
        store.outbox_delete(row_id)
    cost = written() - before
    assert cost <= ROWS * PAGE * 1.75, cost  # under 1.5 pages each; with an fsync each, 2.5 (4 KiB db pages)
    assert store._run("PRAGMA synchronous").fetchone()[0] == 2  # FULL again for what must be on disk first
    store.close()
    again = SqliteStore(tmp_path / "agent.sqlite3")
    assert again.outbox_count() == 0
    again.close()


def test_a_new_store_has_small_pages_so_a_remembered_command_id_costs_about_one_and_a_half_card_pages(
        tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "agent.sqlite3")
    assert store._run("PRAGMA page_size").fetchone()[0] == 1024
    before = written()
    for n in range(ROWS):
        store.remember_command(f"jti-{n}", 2_000_000_000, 1)
    cost = written() - before
    assert cost <= ROWS * PAGE * 2.2, cost  # with 4 KiB database pages: three card pages each
    assert len(store.seen_commands(1)) == ROWS
    store.close()
