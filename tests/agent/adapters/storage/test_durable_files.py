"""The one atomic write: a planted temporary name or link cannot redirect a write (the kiosk key, bundles)."""

from __future__ import annotations

import stat
from pathlib import Path

from agent.adapters.storage.durable_files import write_atomically


def test_a_link_planted_at_the_old_temporary_name_is_not_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"theirs")
    target = tmp_path / "kiosk.key"
    (tmp_path / ".kiosk.key.tmp").symlink_to(victim)
    write_atomically(target, b"secret", 0o600)
    assert victim.read_bytes() == b"theirs"
    assert not target.is_symlink() and target.read_bytes() == b"secret"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_link_at_the_target_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"theirs")
    target = tmp_path / "state.json"
    target.symlink_to(victim)
    write_atomically(target, b"{}")
    assert victim.read_bytes() == b"theirs" and not target.is_symlink() and target.read_bytes() == b"{}"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
