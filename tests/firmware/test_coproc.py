"""The co-processor's request handling: golden session, allow-list, replay guard, and rejected frames that
change nothing but a counter. Runs on CPython and MicroPython.
"""

from firmware import wire
from firmware.frames import decode, encode
from tests.firmware.support import Bench, counters_with, golden, split_frames, unhex


def beat_and_set(bench: Bench, mask: int) -> "list[tuple[int, int, bytes]]":
    bench.send(wire.HEARTBEAT)
    return bench.send(wire.SET_RELAYS, bytes((mask,)))


def test_golden_session_reply_by_reply() -> None:
    session = golden()["session"]
    bench = Bench(session["board"]["relay_count"], session["board"]["sensor_count"],
                  heartbeat_timeout_ms=session["board"]["heartbeat_timeout_ms"])
    for exchange in session["exchanges"]:
        reply = bench.node.handle(decode(unhex(exchange["request"])), 0)
        assert reply.hex() == exchange["reply"], exchange["note"]


def test_golden_rejected_requests_get_their_nak() -> None:
    for case in golden()["rejected_requests"]:
        bench = Bench()
        before = bench.snapshot()
        assert bench.raw(unhex(case["hex"])) == split_frames(unhex(case["nak_hex"])), case["name"]
        assert bench.snapshot()[:3] == before[:3], case["name"]
        assert bench.counter(case["nak_reason"]) == 1, case["name"]


def test_set_relays_reads_back_the_pins() -> None:
    bench = Bench()
    assert beat_and_set(bench, 0b0110) == [(2, wire.SET_RELAYS | 0x80, b"\x06\x06")]
    assert [pin.value() for pin in bench.pins] == [0, 1, 1, 0]


def test_a_stuck_relay_shows_in_the_read_back() -> None:
    bench = Bench()
    bench.pins[1].stuck = 0
    assert beat_and_set(bench, 0b0011) == [(2, wire.SET_RELAYS | 0x80, b"\x03\x01")]
    assert bench.send(wire.GET_RELAYS) == [(3, wire.GET_RELAYS | 0x80, b"\x03\x01")]


def test_corrupted_frame_changes_nothing_but_a_counter() -> None:
    bench = Bench()
    beat_and_set(bench, 0b0001)
    frame = bytearray(encode(9, wire.SET_RELAYS, b"\x0f"))
    frame[4] ^= 0x02  # one bit flipped on the wire: mask 0x0f becomes 0x0d
    before = bench.snapshot()
    assert bench.raw(bytes(frame)) == []  # no reply: nothing in a bad frame can be trusted, not even its seq
    assert bench.snapshot()[:3] == before[:3]
    assert bench.counter("bad_crc") == 1


def test_truncated_frame_changes_nothing_but_a_counter() -> None:
    bench = Bench(frame_timeout_ms=100)
    beat_and_set(bench, 0b0001)
    before = bench.snapshot()
    assert bench.raw(encode(9, wire.SET_RELAYS, b"\x0f")[:-2]) == []
    bench.at(150)
    bench.node.step()
    assert bench.snapshot()[:3] == before[:3]
    assert bench.counter("truncated") == 1


def test_replayed_frame_changes_nothing_but_a_counter() -> None:
    bench = Bench()
    bench.send(wire.HEARTBEAT)
    switch_on = encode(5, wire.SET_RELAYS, b"\x01")
    switch_off = encode(6, wire.SET_RELAYS, b"\x00")
    bench.raw(switch_on)
    bench.raw(switch_off)
    before = bench.snapshot()
    nak = bench.raw(switch_on)
    assert nak == [(5, wire.NAK, bytes((wire.NAK_BAD_SEQ, wire.SET_RELAYS, 6)))]
    assert bench.snapshot()[:3] == before[:3]
    assert bench.counter("bad_seq") == 1


def test_out_of_order_frame_is_refused() -> None:
    bench = Bench()
    bench.send(wire.HEARTBEAT, seq=100)
    assert bench.send(wire.GET_RELAYS, seq=99)[0][1] == wire.NAK
    assert bench.send(wire.GET_RELAYS, seq=100 + 128 - 256)[0][1] == wire.NAK  # 128 ahead is behind
    assert bench.send(wire.GET_RELAYS, seq=(100 + 127) & 0xFF)[0][1] == wire.GET_RELAYS | 0x80
    assert bench.counter("bad_seq") == 2


def test_a_lost_link_forgets_the_sequence_so_a_restarted_host_can_join() -> None:
    bench = Bench(heartbeat_timeout_ms=2000)
    bench.send(wire.HEARTBEAT, seq=200)
    bench.at(2500)
    bench.node.step()
    assert bench.send(wire.HEARTBEAT, seq=0)[0][1] == wire.HEARTBEAT | 0x80


def test_unknown_command_is_refused_and_counted() -> None:
    bench = Bench()
    assert bench.send(0x42) == [(1, wire.NAK, bytes((wire.NAK_UNKNOWN_COMMAND, 0x42, 0)))]
    assert bench.node.counters.values() == counters_with(unknown_command=1)


def test_a_refused_request_does_not_use_up_its_sequence_number() -> None:
    bench = Bench()
    assert bench.send(wire.SET_RELAYS, b"\x01", seq=10)[0][1] == wire.NAK  # link down
    assert bench.send(wire.HEARTBEAT, seq=10)[0][1] == wire.HEARTBEAT | 0x80


def test_switching_off_needs_no_heartbeat() -> None:
    bench = Bench()
    assert bench.send(wire.SET_RELAYS, b"\x00") == [(1, wire.SET_RELAYS | 0x80, b"\x00\x00")]


def test_noise_between_frames_is_counted_and_skipped() -> None:
    bench = Bench()
    replies = bench.raw(b"\x00\x13\x37" + encode(1, wire.GET_VERSION))
    assert replies == [(1, wire.GET_VERSION | 0x80, b"\x01\x01\x00\x00\x04\x02")]
    assert bench.counter("dropped_bytes") == 3


def test_several_frames_in_one_read_get_replies_in_order() -> None:
    bench = Bench()
    data = encode(1, wire.HEARTBEAT) + encode(2, wire.SET_RELAYS, b"\x09") + encode(3, wire.GET_RELAYS)
    assert [(seq, cmd) for seq, cmd, _ in bench.raw(data)] == [(1, 0x82), (2, 0x83), (3, 0x84)]
    assert bench.relays() == 0b1001


def test_stats_reply_lists_every_counter() -> None:
    bench = Bench()
    bench.raw(b"\xa5\xff")  # a bad length byte
    _, _, payload = bench.send(wire.GET_STATS)[0]
    assert payload[0] == len(wire.COUNTER_NAMES)
    assert payload[1:].hex() == "0000" + "0001" + "0000" + "0001" + "0000" * 8
