"""Staff log lines on the card: a bounded ring that survives a reopen (a restart), skips a line cut short by a power
failure, and costs the card about one page per batch, not per line (write_bytes of /proc/self/io)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.adapters.storage.staff_log_ring import SEGMENTS, StaffLogRing
from agent.errors import StoreError

PAGE = 4096


def entry(n: int) -> dict[str, object]:
    return {"ts": 1_800_000_000_000 + n, "level": "info", "key": "relay_test_on", "params": {"zone": 1, "for_s": n}}


def written() -> int:
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["write_bytes"])


def test_lines_survive_a_reopen_oldest_first_and_vietnamese_intact(tmp_path: Path) -> None:
    ring = StaffLogRing(tmp_path)
    for n in range(3):
        ring.add(entry(n))
    ring.add({"ts": 1_800_000_000_100, "level": "warning", "key": "command_rejected",
              "params": {"cmd": "play", "code": "quiet_hours", "reason": "giờ yên tĩnh"}})
    ring.close()
    again = StaffLogRing(tmp_path).recent()
    assert [e["ts"] for e in again] == [1_800_000_000_000, 1_800_000_000_001, 1_800_000_000_002, 1_800_000_000_100]
    assert again[0] == entry(0) and again[-1]["params"]["reason"] == "giờ yên tĩnh"


def test_nothing_reaches_the_card_before_a_flush(tmp_path: Path) -> None:
    ring = StaffLogRing(tmp_path)
    ring.add(entry(1))
    assert ring.pending() == 1 and not any((tmp_path / s).exists() for s in SEGMENTS)
    ring.flush()
    assert ring.pending() == 0 and StaffLogRing(tmp_path).recent() == [entry(1)]


def test_the_ring_is_bounded_to_two_segments_and_keeps_the_newest(tmp_path: Path) -> None:
    for batch in range(7):  # reopened between batches, as restarts would
        ring = StaffLogRing(tmp_path, segment_lines=10)
        for n in range(batch * 6, batch * 6 + 6):
            ring.add(entry(n))
        ring.close()
    kept = StaffLogRing(tmp_path, segment_lines=10).recent()
    assert len(kept) <= 20 and kept[-1] == entry(41)
    assert [e["ts"] for e in kept] == sorted(e["ts"] for e in kept)
    assert sum(len((tmp_path / s).read_text().splitlines()) for s in SEGMENTS) <= 20


def test_a_line_cut_by_a_power_failure_is_skipped_and_the_next_lines_are_kept(tmp_path: Path) -> None:
    ring = StaffLogRing(tmp_path)
    ring.add(entry(1))
    ring.close()
    with (tmp_path / SEGMENTS[0]).open("a") as f:
        f.write('{"n":2,"ts":18000000')  # the power went mid-write
    ring = StaffLogRing(tmp_path)
    assert ring.recent() == [entry(1)]
    ring.add(entry(3))
    ring.close()
    assert StaffLogRing(tmp_path).recent() == [entry(1), entry(3)]


def test_a_card_that_refuses_raises_store_error_and_keeps_a_bounded_wait(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    ring = StaffLogRing(blocked / "sub", segment_lines=5)  # a folder that cannot exist
    for n in range(12):
        ring.add(entry(n))
    with pytest.raises(StoreError):
        ring.flush()
    assert ring.pending() == 5
    ring.close()  # the last batch is lost, the agent still stops cleanly


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux's per-process I/O counters")
def test_a_batch_costs_a_few_card_pages_not_a_few_per_line(tmp_path: Path) -> None:
    """A batch dirties the file's last page (two at a page boundary) and its inode's page: about 8-12 KiB whether it
    holds one line or fifty, which is why lines wait (agent.runtime.staff_log)."""
    ring = StaffLogRing(tmp_path)
    ring.add(entry(0))
    ring.flush()  # the file's creation (directory entry, inode) is not a batch's cost
    batches, per_batch = 8, 20
    os.sync()
    before = written()
    for b in range(batches):
        for n in range(per_batch):
            ring.add(entry(b * per_batch + n))
        ring.flush()
        os.sync()  # each batch lands on its own, as batches minutes apart do
    per_batch_bytes = (written() - before) / batches
    assert per_batch_bytes <= 3 * PAGE, per_batch_bytes
