"""Fuzzes both codecs of the co-processor wire format with random and mutated frames (CPython only).

Each input goes to the firmware codec (firmware.frames.decode, then CoProcessor.handle for what decodes) and to
the agent codec (agent.adapters.relays.coproc_frames.decode_frame, then parse_reply); all inputs also stream through both
deframers in random chunks. The only exception allowed is each codec's documented parse error, and the two
codecs must agree on every input. Prints the counts; exits 1 on any other exception or disagreement.

    python -m tests.firmware.fuzz_frames --count 100000 [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from agent.adapters.relays import coproc_frames as agent
from agent.errors import FrameError as AgentFrameError
from firmware import frames as fw
from firmware import wire
from firmware.counters import Counters
from tests.firmware.support import Bench

T = TypeVar("T")


def random_input(rng: random.Random) -> bytes:
    """Random bytes a third of the time; otherwise a valid frame, mutated most of the time."""
    if rng.random() < 1 / 3:
        data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(41)))
        return bytes((wire.SOF,)) + data[1:] if data and rng.random() < 0.5 else data
    payload = bytes(rng.getrandbits(8) for _ in range(rng.randrange(wire.MAX_PAYLOAD + 1)))
    return mutate(rng, fw.encode(rng.getrandbits(8), rng.choice(CMDS), payload))


CMDS = list(range(1, 9)) + list(range(0x81, 0x89)) + [0xFF, 0x00, 0x42]


def mutate(rng: random.Random, frame: bytes) -> bytes:
    data = bytearray(frame)
    kind = rng.randrange(6)
    if kind == 1:
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == 2:
        del data[rng.randrange(len(data)):]
    elif kind == 3:
        data += bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 4)))
    elif kind == 4:
        data[1] = rng.getrandbits(8)
    return bytes(data)  # kind 0 and 5: unchanged


def firmware_outcome(data: bytes, bench: Bench) -> str:
    try:
        frame = fw.decode(data)
    except fw.FrameError as error:
        return error.reason
    reply = fw.decode(bench.node.handle(frame, 0))  # every reply the board sends must itself be a valid frame
    return "ok" if reply[0] == frame[0] else "reply_seq_mismatch"


def agent_outcome(data: bytes) -> tuple[str, str]:
    """(frame outcome, reply-parse outcome)."""
    try:
        frame = agent.decode_frame(data)
    except AgentFrameError as error:
        return str(error).split(":")[0], "no_frame"
    try:
        agent.parse_reply(frame)
    except AgentFrameError as error:
        return "ok", str(error).split(":")[0]
    return "ok", "ok"


def stream_both(inputs: list[bytes], rng: random.Random) -> tuple[list[agent.Frame], list[agent.Frame]]:
    """Every input as one byte stream, cut into random chunks, through both deframers."""
    stream = b"".join(inputs)
    deframer, reader = fw.Deframer(Counters(len(wire.COUNTER_NAMES))), agent.FrameReader()
    from_fw: list[agent.Frame] = []
    from_agent: list[agent.Frame] = []
    i = 0
    while i < len(stream):
        chunk = stream[i : i + rng.randrange(1, 64)]
        i += len(chunk)
        from_fw += [agent.Frame(*f) for f in deframer.feed(chunk, 0)]
        from_agent += reader.feed(chunk)
    from_fw += [agent.Frame(*f) for f in deframer.poll(10**6)]
    return from_fw, from_agent + reader.flush()


def board_replies(inputs: list[bytes], rng: random.Random) -> int:
    """The whole stream through a board's UART in random chunks, one loop pass each; replies must be frames."""
    bench, replies = Bench(), 0
    stream = b"".join(inputs)
    for i in range(0, len(stream), 48):
        bench.clock.advance(rng.randrange(20))
        bench.uart.inject(stream[i : i + 48])
        bench.node.step()
        replies += len(agent.FrameReader().feed(bench.uart.take_tx()))
    return replies


Counts = dict[str, Counter[str]]


def fuzz(count: int, seed: int) -> Counts:
    """Outcome counts per codec, the stream totals, and "problems" (must stay empty)."""
    rng = random.Random(seed)
    counts: Counts = {name: Counter() for name in ("firmware", "agent", "agent_reply", "problems", "stream")}
    bench = Bench()  # one board for the whole run, so the replay guard and fail-safe state carry over
    inputs = [random_input(rng) for _ in range(count)]
    for data in inputs:
        compare_one(data, bench, counts)
    compare_streams(inputs, rng, counts)
    return counts


def compare_one(data: bytes, bench: Bench, counts: Counts) -> None:
    fw_out = _guard(firmware_outcome, data, bench)
    agent_out = _guard(agent_outcome, data)
    frame_out, reply_out = agent_out if isinstance(agent_out, tuple) else (agent_out, agent_out)
    counts["firmware"][fw_out] += 1
    counts["agent"][frame_out] += 1
    counts["agent_reply"][reply_out] += 1
    if fw_out != frame_out:
        counts["problems"][f"disagree {fw_out}/{frame_out}: {data.hex()}"] += 1


def compare_streams(inputs: list[bytes], rng: random.Random, counts: Counts) -> None:
    streamed = _guard(stream_both, inputs, rng)
    replies = _guard(board_replies, inputs, rng)
    for result in (streamed, replies):
        if isinstance(result, str):
            counts["problems"][result] += 1
    if isinstance(streamed, tuple):
        counts["stream"].update(frames_firmware=len(streamed[0]), frames_agent=len(streamed[1]))
        if streamed[0] != streamed[1]:
            counts["problems"]["stream deframers disagree"] += 1
    if isinstance(replies, int):
        counts["stream"]["board_replies"] = replies


def _guard(fn: Callable[..., T], *args: object) -> T | str:
    """fn(*args), with any exception other than the documented parse errors turned into an outcome."""
    try:
        return fn(*args)
    except Exception as error:  # noqa: BLE001 -- the fuzzer's whole point is to catch the unexpected ones
        return f"UNEXPECTED {type(error).__name__}: {error}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.firmware.fuzz_frames", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    counts = fuzz(args.count, args.seed)
    for codec, outcomes in counts.items():
        shown = sorted(outcomes.items())[:5] if codec == "problems" else sorted(outcomes.items())
        print(f"{codec}: " + ", ".join(f"{k}={v}" for k, v in shown) + (" ..." if len(shown) < len(outcomes) else ""))
    unexpected = sum(v for c in counts.values() for k, v in c.items() if "UNEXPECTED" in k) + sum(
        counts["problems"].values())
    print(f"inputs={args.count} seed={args.seed} unexpected={unexpected}")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
