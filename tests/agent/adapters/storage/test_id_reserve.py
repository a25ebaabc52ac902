"""The reserve for command ids: fixed slots, reused once expired, a torn slot reads as empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.adapters.storage.id_reserve import SLOT_BYTES, SLOTS, IdReserve
from agent.errors import StoreError


def test_ids_survive_a_reopen_and_expire(tmp_path: Path) -> None:
    reserve = IdReserve(tmp_path / "a.ids")
    assert (tmp_path / "a.ids").stat().st_size == SLOT_BYTES * SLOTS  # all its room taken at once
    reserve.remember("old", 100, now_s=50)
    reserve.remember("lệnh-mới", 300, now_s=50)
    reserve.close()
    again = IdReserve(tmp_path / "a.ids")
    assert again.ids(now_s=200) == {"lệnh-mới": 300}
    assert again.ids(now_s=0) == {"old": 100, "lệnh-mới": 300}


def test_a_torn_slot_reads_as_empty(tmp_path: Path) -> None:
    reserve = IdReserve(tmp_path / "a.ids")
    reserve.remember("first", 100, now_s=0)
    reserve.remember("second", 100, now_s=0)
    reserve.close()
    with (tmp_path / "a.ids").open("r+b") as f:  # a power cut in the middle of the second slot's write
        f.seek(SLOT_BYTES + 16)  # inside the id "second"
        f.write(b"\xff")
    assert IdReserve(tmp_path / "a.ids").ids(now_s=0) == {"first": 100}


def test_a_full_reserve_refuses_rather_than_forgets(tmp_path: Path) -> None:
    reserve = IdReserve(tmp_path / "a.ids")
    for i in range(SLOTS):
        reserve.remember(f"c{i}", 1000, now_s=0)
    with pytest.raises(StoreError, match="full"):
        reserve.remember("one-more", 1000, now_s=0)
    reserve.remember("one-more", 2000, now_s=1001)  # once the others expired, their slots are reused
    assert reserve.ids(now_s=1001) == {"one-more": 2000}
