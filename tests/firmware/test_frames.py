"""The firmware codec against the golden frames: encode, decode, reject, resynchronise.

Runs on CPython and MicroPython.
"""

from firmware import replies, wire
from firmware.counters import Counters
from firmware.frames import Deframer, FrameError, decode, encode
from tests.firmware.support import golden, raises, unhex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

REQUESTS = {
    "get_version": wire.GET_VERSION,
    "heartbeat": wire.HEARTBEAT,
    "set_relays": wire.SET_RELAYS,
    "get_relays": wire.GET_RELAYS,
    "read_sensors": wire.READ_SENSORS,
    "emergency_renew": wire.EMERGENCY_RENEW,
    "get_stats": wire.GET_STATS,
}
NAK_REASONS = {
    "unknown_command": wire.NAK_UNKNOWN_COMMAND,
    "bad_payload": wire.NAK_BAD_PAYLOAD,
    "bad_seq": wire.NAK_BAD_SEQ,
    "bad_arg": wire.NAK_BAD_ARG,
    "link_down": wire.NAK_LINK_DOWN,
}


def reply_payload(meaning: "dict[str, Any]") -> bytes:
    """The firmware's own reply builders, fed the golden meaning."""
    kind = meaning["reply"]
    if kind == "get_version":
        assert meaning["protocol"] == wire.PROTOCOL_VERSION
        assert tuple(meaning["firmware"]) == wire.FIRMWARE_VERSION
        return replies.version(meaning["relay_count"], meaning["sensor_count"])
    if kind == "heartbeat":
        return replies.heartbeat(meaning["timeout_ms"])
    if kind in ("set_relays", "get_relays"):
        return replies.relays(meaning["commanded"], meaning["actual"])
    if kind == "read_sensors":
        return replies.sensors(meaning["levels_cdbfs"])
    if kind == "emergency_renew":
        return replies.renewed(meaning["mask"])
    if kind == "get_stats":
        return replies.stats(tuple(meaning["counters"][name] for name in wire.COUNTER_NAMES))
    return replies.nak(NAK_REASONS[meaning["reason"]], meaning["command"], meaning["info"])


def test_golden_frames_decode() -> None:
    for case in golden()["frames"]:
        assert decode(unhex(case["hex"])) == (case["seq"], case["cmd"], unhex(case["payload"])), case["name"]


def test_golden_frames_encode() -> None:
    for case in golden()["frames"]:
        assert encode(case["seq"], case["cmd"], unhex(case["payload"])).hex() == case["hex"], case["name"]


def test_golden_requests_carry_their_meaning() -> None:
    for case in golden()["frames"]:
        if case["direction"] == "request":
            meaning = case["meaning"]
            mask = meaning.get("mask", -1)
            assert case["cmd"] == REQUESTS[meaning["command"]], case["name"]
            assert unhex(case["payload"]) == (b"" if mask < 0 else bytes((mask,))), case["name"]


def test_golden_replies_are_built_byte_for_byte() -> None:
    for case in golden()["frames"]:
        if case["direction"] == "reply":
            code = wire.NAK if case["meaning"]["reply"] == "nak" else REQUESTS[case["meaning"]["reply"]] | 0x80
            frame = encode(case["seq"], code, reply_payload(case["meaning"]))
            assert frame.hex() == case["hex"], case["name"]


def test_golden_invalid_frames_are_rejected_with_their_reason() -> None:
    for case in golden()["invalid"]:
        error = raises(FrameError, decode, unhex(case["hex"]))
        assert error.reason == case["error"], (case["name"], error.reason)


def test_golden_streams_are_cut_and_counted() -> None:
    for case in golden()["streams"]:
        counters = Counters(len(wire.COUNTER_NAMES))
        deframer = Deframer(counters, timeout_ms=100)
        frames = deframer.feed(unhex(case["hex"]), 0)
        if case["flush"]:
            frames += deframer.poll(100)
        assert [encode(*f).hex() for f in frames] == case["frames"], case["name"]
        for name, count in case["rejected"].items():
            assert counters.get(wire.COUNTER_NAMES.index(name)) == count, (case["name"], name)


def test_streams_give_the_same_frames_byte_by_byte() -> None:
    for case in golden()["streams"]:
        deframer = Deframer(Counters(len(wire.COUNTER_NAMES)))
        frames = []
        for byte in unhex(case["hex"]):
            frames += deframer.feed(bytes((byte,)), 0)
        if case["flush"]:
            frames += deframer.poll(1000)
        assert [encode(*f).hex() for f in frames] == case["frames"], case["name"]


def test_partial_frame_waits_until_its_timeout() -> None:
    counters = Counters(len(wire.COUNTER_NAMES))
    deframer = Deframer(counters, timeout_ms=100)
    deframer.feed(encode(1, wire.HEARTBEAT)[:-1], 1000)
    assert deframer.poll(1099) == [] and deframer.pending() == 5
    assert deframer.poll(1100) == [] and deframer.pending() == 0
    assert counters.get(wire.C_TRUNCATED) == 1


def test_encode_refuses_an_oversized_payload() -> None:
    raises(ValueError, encode, 1, wire.SET_RELAYS, bytes(wire.MAX_PAYLOAD + 1))


def test_largest_payload_round_trips() -> None:
    payload = bytes(range(wire.MAX_PAYLOAD))
    assert decode(encode(7, 0x42, payload)) == (7, 0x42, payload)


def test_start_byte_inside_a_payload_is_not_a_frame_boundary() -> None:
    frame = encode(0xA5, wire.SET_RELAYS, b"\xa5")
    assert Deframer(Counters(len(wire.COUNTER_NAMES))).feed(frame + frame, 0) == [(0xA5, 3, b"\xa5")] * 2
