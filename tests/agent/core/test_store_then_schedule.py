"""What a server that schedules stored bulletins (the HTTTN gateway) needs: a `schedule` sent right after the `store`
it names is accepted while that store is still downloading, and `stop {"ref"}` ends the plays of one stored bulletin
(a programme slot has no jti to stop it by) and nothing else."""

from __future__ import annotations

from datetime import datetime

from tests.agent.core.device_helpers import sound_device
from tests.agent.core.test_sound import FILE, VN, send
from tests.agent.core.world import World

START = int(datetime(2026, 12, 1, 6, 59, 50, tzinfo=VN).timestamp() * 1000)  # ten seconds before 07:00


def test_a_schedule_naming_a_store_still_downloading_is_accepted_and_its_slot_plays() -> None:
    w = World(sound_device(), now=START, prepare_ms={"store:st": 3000})
    send(w, "store", {"id": "bt", "url": "http://x/b.mp3", "sha256": "b" * 64}, "st")
    send(w, "schedule", {"version": 1, "slots": [{"at": "07:00", "source": {"ref": "bt"}}]}, "sc")
    assert w.acks("sc") == ["accepted", "finished"]
    w.run_until(START + 20_000)
    assert w.acks("st") == ["accepted", "finished"]
    assert [(p["jti"], p["result"], p["source_kind"]) for p in w.playlogs()] == [(None, "completed", "ref")]


def test_a_schedule_naming_a_bulletin_never_stored_is_still_refused() -> None:
    w = World(sound_device(), now=START)
    send(w, "schedule", {"version": 1, "slots": [{"at": "07:00", "source": {"ref": "bt"}}]}, "sc")
    assert w.ack_codes("sc") == ["bad_args"]


def test_stop_by_ref_ends_the_slot_of_that_stored_bulletin_sounding_now() -> None:
    w = World(sound_device(), now=START)
    send(w, "store", {"id": "bt", "url": "http://x/b.mp3", "sha256": "b" * 64}, "st")
    w.run_until(START + 100)
    send(w, "schedule", {"version": 1, "slots": [{"at": "07:00", "source": {"ref": "bt"}, "duration_s": 600}]}, "sc")
    w.run_until(START + 12_000)  # the slot sounds (a 3 s file: it is within its play)
    assert w.audio is not None and w.audio.startswith("slot-1-0-")
    send(w, "stop", {"ref": "bt"}, "s1")
    w.run_until(START + 20_000)
    assert w.acks("s1") == ["accepted", "finished"]
    assert [p["result"] for p in w.playlogs()] == ["stopped"]


def test_stop_by_ref_leaves_other_bulletins_alone_and_finds_nothing_without_a_match() -> None:
    w = World(sound_device(), now=START)
    send(w, "play", {"source": FILE}, "p1")
    w.run_until(START + 2000)
    send(w, "stop", {"ref": "bt"}, "s1")
    w.run_until(START + 10_000)
    assert w.ack_codes("s1") == ["not_found"]
    assert w.acks("p1") == ["accepted", "started", "finished"]
