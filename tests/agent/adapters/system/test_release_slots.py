"""The A/B slots on a real file system: the `current` switch, installs that never touch the running slot, markers
that survive a damaged write, and the running release read from its slot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.adapters.system.release_bundle import BundleError, pack_payload, write_bundle
from agent.adapters.system.release_slots import InstallError, ReleaseSlots, running_release
from tests.agent.adapters.system.test_release_bundle import package


def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "b.bundle"
    if not path.exists():
        write_bundle(path, "T", pack_payload(package(tmp_path), 0), 0)
    return path


def test_install_switch_and_back(tmp_path: Path) -> None:
    slots = ReleaseSlots(tmp_path / "releases")
    assert slots.current() == "base" and slots.code_dir("base") is None
    assert slots.install("a", bundle(tmp_path), {"version": "0.2.0"}, max_bytes=10**6) == 3
    assert slots.current() == "base"  # installing never switches
    slots.switch("a")
    assert slots.current() == "a" and os.readlink(slots.root / "current") == "a"
    assert running_release(slots.root / "a" / "agent") == ("a", "0.2.0")
    slots.switch("base")
    assert slots.current() == "base" and not (slots.root / "current").exists()


def test_the_running_slot_is_never_installed_into(tmp_path: Path) -> None:
    slots = ReleaseSlots(tmp_path / "releases")
    slots.install("a", bundle(tmp_path), {"version": "0.2.0"}, max_bytes=10**6)
    slots.switch("a")
    for slot in ("a", "c", "base"):
        with pytest.raises(InstallError):
            slots.install(slot, bundle(tmp_path), {"version": "0.3.0"}, max_bytes=10**6)
    assert running_release(slots.root / "a" / "agent") == ("a", "0.2.0")


def test_a_failed_install_leaves_no_half_slot(tmp_path: Path) -> None:
    slots = ReleaseSlots(tmp_path / "releases")
    bad = tmp_path / "bad.bundle"
    write_bundle(bad, "T", b"not gzip", 0)
    with pytest.raises(BundleError):
        slots.install("b", bad, {"version": "0.2.0"}, max_bytes=10**6)
    assert not (slots.root / "b").exists() and not (slots.root / "b.new").exists()


def test_a_slot_without_its_release_json_is_not_switched_to(tmp_path: Path) -> None:
    slots = ReleaseSlots(tmp_path / "releases")
    (slots.root / "a").mkdir(parents=True)
    slots.switch("a")
    assert slots.current() == "base"  # a link to an empty slot must not make the launcher run nothing


def test_markers_round_trip_and_a_damaged_one_reads_as_absent(tmp_path: Path) -> None:
    slots = ReleaseSlots(tmp_path / "releases")
    assert slots.read_trial() is None and slots.read_outcome() is None
    slots.write_trial({"jti": "u1", "state": "pending", "msg": "Bản tin"})
    slots.write_outcome({"jti": "u1", "code": "x"})
    assert slots.read_trial() == {"jti": "u1", "state": "pending", "msg": "Bản tin"}
    assert slots.read_outcome() == {"jti": "u1", "code": "x"}
    slots.trial_file.write_text('{"jti": "u1", "sta')  # a write cut short (or bit rot on the card)
    assert slots.read_trial() is None
    slots.clear_trial()
    slots.clear_outcome()
    assert not slots.trial_file.exists() and not slots.outcome_file.exists()
    assert not list(slots.root.glob(".*.tmp"))


def test_the_installed_package_runs_as_base(tmp_path: Path) -> None:
    import agent

    assert running_release() == ("base", agent.__version__)
