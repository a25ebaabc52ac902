"""The campaign's checkers catch what they claim to: each is shown a record with one violation and one without
(a campaign with zero violations means something only if its checks fire)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.fault import invariants as inv

ACK = "loa/v1/dev/u/ack"


def test_a_committed_report_that_never_arrived_is_found() -> None:
    received = [(0.0, ACK, b"a"), (0.1, ACK, b"b")]
    assert inv.delivered([(ACK, b"a"), (ACK, b"b")], received) == []
    assert len(inv.delivered([(ACK, b"a"), (ACK, b"c")], received)) == 1


def test_a_command_accepted_twice_or_never_sent_is_found() -> None:
    once = [{"jti": "j1", "state": "accepted", "ts": 5}, {"jti": "j1", "state": "accepted", "ts": 5}]  # resent
    assert inv.ran_once(once, {"j1"}) == []
    twice = once + [{"jti": "j1", "state": "accepted", "ts": 9}]
    assert "accepted 2 times" in inv.ran_once(twice, {"j1"})[0]
    assert "never validly sent" in inv.ran_once([{"jti": "x", "state": "accepted", "ts": 1}], {"j1"})[0]


def test_a_damaged_file_that_started_or_was_stored_is_found() -> None:
    acks = [{"jti": "p", "state": "failed", "code": "hash_mismatch"}, {"jti": "s", "state": "finished"}]
    assert inv.never_played_damaged(acks, {"p": "play"}) == []
    assert len(inv.never_played_damaged(acks, {"p": "play", "s": "store"})) == 1


def test_a_cached_object_that_does_not_match_its_name_is_found(tmp_path: Path) -> None:
    objects = tmp_path / "objects"
    objects.mkdir()
    good = b"tone"
    (objects / hashlib.sha256(good).hexdigest()).write_bytes(good)
    assert inv.cache_intact(tmp_path) == []
    (objects / hashlib.sha256(b"other").hexdigest()).write_bytes(b"rotten")
    assert len(inv.cache_intact(tmp_path)) == 1


def test_integrity_and_memory() -> None:
    assert inv.integrity("ok") == [] and inv.integrity("*** in database main ***")
    assert inv.memory(100, 200) == [] and inv.memory(300, 200)


def j(ts: float, zone: int, on: bool) -> dict[str, object]:
    return {"ts": ts, "zone": zone, "on": on, "state": on}


def test_relays_must_go_off_first_after_every_start() -> None:
    journal = [j(0, 1, False), j(0, 2, False), j(1, 1, True), j(5, 1, False), j(5, 2, False)]
    assert inv.off_after_start(journal, [0, 3], (1, 2)) == []
    assert inv.off_after_start(journal, [2], (1, 2))  # from line 2, zone 1 goes on first


def test_relays_on_at_rest_are_found() -> None:
    assert inv.off_at_rest([j(0, 1, True), j(1, 1, False)], (1, 2)) == []
    assert inv.off_at_rest([j(0, 1, True)], (1, 2)) == ["zones [1] are on with nothing playing"]


def test_a_relay_on_outside_every_play_is_found_unless_the_agent_died_with_it() -> None:
    journal = [j(100.0, 1, True), j(103.0, 1, False), j(200.0, 1, True), j(230.0, 1, False)]
    windows = inv.play_windows([{"started_ts": 100_500, "ended_ts": 102_500}], lead_s=0.4, tail_s=0.3)
    problems = inv.on_only_while_playing(journal, windows, kills=[])
    assert len(problems) == 1 and "200.000" in problems[0]
    assert inv.on_only_while_playing(journal, windows, kills=[210.0]) == []
    assert inv.on_only_while_playing(journal, windows, kills=[230.4]) == []  # a crash noticed just after its exit


def test_a_valid_command_without_any_ack_is_found() -> None:
    acks = [{"jti": "a", "state": "accepted"}, {"jti": "b", "state": "rejected"}]
    assert inv.answered(acks, ["a", "b"]) == []
    assert inv.answered(acks, ["a", "c"]) == ["valid command c was never answered"]
