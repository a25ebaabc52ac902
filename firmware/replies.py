"""Payloads of the co-processor's replies, byte for byte as firmware/README.md and the golden frames give them.

Imports only struct and firmware.wire; must not import machine or the agent.
"""

import struct

from firmware.wire import FIRMWARE_VERSION, PROTOCOL_VERSION


def version(relay_count: int, sensor_count: int) -> bytes:
    return bytes((PROTOCOL_VERSION,) + FIRMWARE_VERSION + (relay_count, sensor_count))


def heartbeat(timeout_ms: int) -> bytes:
    """The ack tells the host how long the co-processor waits for the next heartbeat."""
    return struct.pack(">H", timeout_ms)


def relays(commanded: int, actual: int) -> bytes:
    return bytes((commanded, actual))


def sensors(levels_cdbfs: "list[int]") -> bytes:
    return struct.pack(f">B{len(levels_cdbfs)}h", len(levels_cdbfs), *levels_cdbfs)


def renewed(mask: int) -> bytes:
    return bytes((mask,))


def stats(values: "tuple[int, ...]") -> bytes:
    return struct.pack(f">B{len(values)}H", len(values), *values)


def nak(reason: int, cmd: int, info: int = 0) -> bytes:
    return bytes((reason, cmd, info))
