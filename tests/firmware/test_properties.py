"""Property tests of the firmware codec and board logic with hypothesis (CPython only; a few thousand examples
so the suite stays fast; `python -m tests.firmware.fuzz_frames --count 100000` is the long run).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware import wire
from firmware.counters import Counters
from firmware.frames import Deframer, FrameError, decode, encode
from tests.firmware import fuzz_frames
from tests.firmware.support import Bench

seqs = st.integers(0, 255)
cmds = st.integers(0, 255)
payloads = st.binary(max_size=wire.MAX_PAYLOAD)
frames = st.builds(encode, seqs, cmds, payloads)
junk = st.binary(max_size=8).map(lambda b: b.replace(b"\xa5", b""))


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=48))
def test_decode_of_any_bytes_is_a_frame_or_a_frame_error(data: bytes) -> None:
    try:
        seq, cmd, payload = decode(data)
    except FrameError as error:
        assert error.reason in {"no_start", "truncated", "bad_length", "bad_crc"}
    else:
        assert encode(seq, cmd, payload) == data


@settings(max_examples=500, deadline=None)
@given(seqs, cmds, payloads)
def test_encode_decode_round_trip(seq: int, cmd: int, payload: bytes) -> None:
    assert decode(encode(seq, cmd, payload)) == (seq, cmd, payload)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(junk, frames), max_size=6), st.data())
def test_every_frame_between_junk_survives_any_chunking(parts: list[tuple[bytes, bytes]], data: st.DataObject) -> None:
    stream = b"".join(j + f for j, f in parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    deframer = Deframer(Counters(len(wire.COUNTER_NAMES)))
    got = []
    for start, end in zip([0] + cuts, cuts + [len(stream)]):
        got += deframer.feed(stream[start:end], 0)
    assert [encode(*f) for f in got] == [f for _, f in parts]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=40), frames), max_size=20))
def test_no_input_switches_a_relay_on_without_a_live_heartbeat(chunks: list[bytes]) -> None:
    bench = Bench()
    for chunk in chunks:
        bench.clock.advance(50)
        bench.uart.inject(chunk)
        bench.node.step()
        assert bench.relays() == 0 or bench.node.failsafe.link_alive(bench.clock())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(wire.REQUEST_PAYLOAD_LEN)), seqs, st.binary(max_size=2)),
                max_size=30))
def test_requests_never_crash_the_board_and_counters_only_grow(requests: list[tuple[int, int, bytes]]) -> None:
    bench = Bench()
    before = bench.node.counters.values()
    for cmd, seq, payload in requests:
        bench.clock.advance(300)
        replies = bench.send(cmd, payload, seq)
        assert len(replies) == 1 and replies[0][0] == seq
        after = bench.node.counters.values()
        assert all(a >= b for a, b in zip(after, before))
        before = after


def test_fuzz_script_runs_clean_on_a_short_run() -> None:
    counts = fuzz_frames.fuzz(3000, seed=2)
    assert not counts["problems"]
    assert counts["firmware"]["ok"] > 0 and counts["firmware"]["bad_crc"] > 0
    assert not [k for c in counts.values() for k in c if "UNEXPECTED" in k]
