"""The agent's co-processor codec against the shared golden frames, plus hypothesis properties.

The firmware's own codec is tested against the same file in tests/firmware/test_frames.py.
"""

from __future__ import annotations

import binascii
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.adapters.relays import coproc_frames as cf
from agent.errors import FrameError, LoaError

GOLDEN = json.loads((Path(__file__).resolve().parents[3] / "golden" / "coproc_frames.json").read_text())


def reason_of(error: FrameError) -> str:
    return str(error).split(":")[0]


def request_from(meaning: dict[str, Any], seq: int) -> cf.Frame:
    """The agent's request builders, fed the golden meaning."""
    cmd = cf.Command[meaning["command"].upper()]
    if cmd is cf.Command.SET_RELAYS:
        return cf.set_relays(seq, meaning["mask"])
    if cmd is cf.Command.EMERGENCY_RENEW:
        return cf.emergency_renew(seq, meaning["mask"])
    return cf.request(cmd, seq)


def meaning_of(frame: cf.Frame) -> dict[str, Any]:
    """What the golden file says a reply means, from the agent's parsed value object."""
    reply = cf.parse_reply(frame)
    kind = "nak" if frame.cmd == cf.NAK_CODE else cf.Command(frame.cmd & ~cf.REPLY_BIT).name.lower()
    if isinstance(reply, cf.Version):
        fields: dict[str, Any] = {"protocol": reply.protocol, "firmware": list(reply.firmware),
                                  "relay_count": reply.relay_count, "sensor_count": reply.sensor_count}
    elif isinstance(reply, cf.SensorLevels):
        fields = {"levels_cdbfs": list(reply.levels_cdbfs)}
    elif isinstance(reply, cf.Stats):
        fields = {"counters": reply.as_dict()}
    elif isinstance(reply, cf.Nak):
        fields = {"reason": reply.reason.name.lower(), "command": reply.command, "info": reply.info}
    else:
        fields = dict(vars(reply))
    return {"reply": kind, **fields}


@pytest.mark.parametrize("case", GOLDEN["frames"], ids=lambda c: c["name"])
def test_golden_frame_decodes_and_encodes(case: dict[str, Any]) -> None:
    frame = cf.decode_frame(bytes.fromhex(case["hex"]))
    assert frame == cf.Frame(case["seq"], case["cmd"], bytes.fromhex(case["payload"]))
    assert cf.encode_frame(frame).hex() == case["hex"]


@pytest.mark.parametrize("case", [c for c in GOLDEN["frames"] if c["direction"] == "request"], ids=lambda c: c["name"])
def test_golden_request_is_built_from_its_meaning(case: dict[str, Any]) -> None:
    assert cf.encode_frame(request_from(case["meaning"], case["seq"])).hex() == case["hex"]


@pytest.mark.parametrize("case", [c for c in GOLDEN["frames"] if c["direction"] == "reply"], ids=lambda c: c["name"])
def test_golden_reply_parses_to_its_meaning(case: dict[str, Any]) -> None:
    assert meaning_of(cf.decode_frame(bytes.fromhex(case["hex"]))) == case["meaning"]


@pytest.mark.parametrize("case", GOLDEN["invalid"], ids=lambda c: c["name"])
def test_golden_invalid_frame_is_rejected_with_its_reason(case: dict[str, Any]) -> None:
    with pytest.raises(FrameError) as caught:
        cf.decode_frame(bytes.fromhex(case["hex"]))
    assert reason_of(caught.value) == case["error"]
    assert isinstance(caught.value, LoaError) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize("case", GOLDEN["rejected_replies"], ids=lambda c: c["name"])
def test_golden_rejected_reply_is_not_guessed(case: dict[str, Any]) -> None:
    with pytest.raises(FrameError) as caught:
        cf.parse_reply(cf.decode_frame(bytes.fromhex(case["hex"])))
    assert reason_of(caught.value) == case["error"]


@pytest.mark.parametrize("case", GOLDEN["rejected_requests"], ids=lambda c: c["name"])
def test_golden_nak_for_a_rejected_request_parses(case: dict[str, Any]) -> None:
    nak = cf.parse_reply(cf.decode_frame(bytes.fromhex(case["nak_hex"])))
    sent = cf.decode_frame(bytes.fromhex(case["hex"]))
    assert isinstance(nak, cf.Nak) and nak.reason.name.lower() == case["nak_reason"] and nak.command == sent.cmd


@pytest.mark.parametrize("case", GOLDEN["streams"], ids=lambda c: c["name"])
def test_golden_stream_is_cut_and_counted(case: dict[str, Any]) -> None:
    reader = cf.FrameReader()
    frames = reader.feed(bytes.fromhex(case["hex"]))
    if case["flush"]:
        frames += reader.flush()
    assert [cf.encode_frame(f).hex() for f in frames] == case["frames"]
    assert reader.rejected == case["rejected"]


def test_golden_session_requests_and_replies() -> None:
    for exchange in GOLDEN["session"]["exchanges"]:
        sent = cf.decode_frame(bytes.fromhex(exchange["request"]))
        reply = cf.decode_frame(bytes.fromhex(exchange["reply"]))
        assert cf.is_reply_to(reply, sent), exchange["note"]
        cf.parse_reply(reply)


def test_crc_matches_the_catalogue_and_the_stdlib() -> None:
    crc = GOLDEN["crc"]
    assert cf.crc16_ccitt_false(bytes.fromhex(crc["check_input_hex"])) == int(crc["check"], 16) == 0x29B1
    assert cf.crc16_ccitt_false(b"Loa \xe2\x80\x94 loa truy\xe1\xbb\x81n thanh") == binascii.crc_hqx(
        b"Loa \xe2\x80\x94 loa truy\xe1\xbb\x81n thanh", 0xFFFF)


def test_counter_names_match_the_golden_file() -> None:
    assert list(cf.COUNTER_NAMES) == GOLDEN["counter_names"]


def test_encode_refuses_out_of_range_frames() -> None:
    for frame in (cf.Frame(256, 1), cf.Frame(1, -1), cf.Frame(1, 1, bytes(cf.MAX_PAYLOAD + 1))):
        with pytest.raises(ValueError):
            cf.encode_frame(frame)


def test_relay_state_confirmation_and_sensor_dbfs() -> None:
    assert cf.RelayState(5, 5).confirmed and not cf.RelayState(5, 4).confirmed
    assert cf.SensorLevels((-1204, -10000)).dbfs(0) == -12.04


def test_stats_from_a_newer_firmware_keep_extra_counters() -> None:
    payload = bytes((13,)) + bytes(24) + b"\x00\x09"
    stats = cf.parse_reply(cf.Frame(1, cf.Command.GET_STATS | cf.REPLY_BIT, payload))
    assert isinstance(stats, cf.Stats) and stats.as_dict()["counter_12"] == 9


def test_reply_matching_needs_seq_and_code() -> None:
    sent = cf.set_relays(7, 1)
    assert cf.is_reply_to(cf.Frame(7, 0x83, b"\x01\x01"), sent)
    assert cf.is_reply_to(cf.Frame(7, 0xFF, b"\x03\x03\x06"), sent)
    assert not cf.is_reply_to(cf.Frame(8, 0x83), sent) and not cf.is_reply_to(cf.Frame(7, 0x84), sent)
    assert cf.next_seq(255) == 0


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=48))
def test_any_bytes_decode_to_a_frame_or_a_frame_error(data: bytes) -> None:
    try:
        frame = cf.decode_frame(data)
    except FrameError as error:
        assert reason_of(error) in {cf.NO_START, cf.TRUNCATED, cf.BAD_LENGTH, cf.BAD_CRC}
        return
    assert cf.encode_frame(frame) == data
    try:
        cf.parse_reply(frame)
    except FrameError as error:
        assert reason_of(error) in {cf.UNKNOWN_COMMAND, cf.BAD_PAYLOAD}


frames = st.builds(cf.Frame, st.integers(0, 255), st.integers(0, 255), st.binary(max_size=cf.MAX_PAYLOAD))


@settings(max_examples=500, deadline=None)
@given(frames)
def test_frames_round_trip(frame: cf.Frame) -> None:
    assert cf.decode_frame(cf.encode_frame(frame)) == frame


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=8), frames), max_size=6), st.data())
def test_reader_finds_every_frame_after_junk_in_any_chunking(parts: list[tuple[bytes, cf.Frame]],
                                                            data: st.DataObject) -> None:
    parts = [(junk.replace(bytes((cf.SOF,)), b""), frame) for junk, frame in parts]
    stream = b"".join(junk + cf.encode_frame(frame) for junk, frame in parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    reader = cf.FrameReader()
    got = [f for start, end in zip([0, *cuts], [*cuts, len(stream)]) for f in reader.feed(stream[start:end])]
    assert got == [frame for _, frame in parts]
    assert reader.rejected[cf.DROPPED_BYTES] == sum(len(junk) for junk, _ in parts)
