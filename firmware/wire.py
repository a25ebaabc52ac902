"""Numbers of the co-processor wire format (see firmware/README.md): framing, command allow-list, NAK reasons,
counter order. The agent's codec (agent/adapters/relays/coproc_frames.py) holds its own copy; tests/golden/coproc_frames.json
keeps the two equal. Imports nothing.
"""

SOF = 0xA5  # start of frame
MAX_PAYLOAD = 32
OVERHEAD = 6  # SOF, LEN, SEQ, CMD + 2 CRC bytes

PROTOCOL_VERSION = 1
FIRMWARE_VERSION = (1, 0, 0)

# Requests (host -> co-processor). A reply carries the request's code | REPLY_BIT, or NAK.
GET_VERSION = 0x01
HEARTBEAT = 0x02
SET_RELAYS = 0x03
GET_RELAYS = 0x04
READ_SENSORS = 0x05
EMERGENCY_RENEW = 0x06
GET_STATS = 0x07
REPLY_BIT = 0x80
NAK = 0xFF

# The allow-list: the exact payload length of every request the firmware obeys.
REQUEST_PAYLOAD_LEN = {
    GET_VERSION: 0,
    HEARTBEAT: 0,
    SET_RELAYS: 1,
    GET_RELAYS: 0,
    READ_SENSORS: 0,
    EMERGENCY_RENEW: 1,
    GET_STATS: 0,
}

# NAK reason codes (first payload byte of a NAK).
NAK_UNKNOWN_COMMAND = 1
NAK_BAD_PAYLOAD = 2
NAK_BAD_SEQ = 3
NAK_BAD_ARG = 4
NAK_LINK_DOWN = 5

# Counter indexes, in the order the GET_STATS reply sends them.
C_BAD_CRC = 0
C_BAD_LENGTH = 1
C_TRUNCATED = 2
C_DROPPED_BYTES = 3
C_UNKNOWN_COMMAND = 4
C_BAD_PAYLOAD = 5
C_BAD_SEQ = 6
C_BAD_ARG = 7
C_LINK_DOWN = 8
C_HEARTBEAT_TRIPS = 9
C_MAX_ON_TRIPS = 10
C_WATCHDOG_RESETS = 11
COUNTER_NAMES = (
    "bad_crc",
    "bad_length",
    "truncated",
    "dropped_bytes",
    "unknown_command",
    "bad_payload",
    "bad_seq",
    "bad_arg",
    "link_down",
    "heartbeat_trips",
    "max_on_trips",
    "watchdog_resets",
)

# Each NAK reason is also counted; this maps the reason to its counter.
NAK_COUNTER = {
    NAK_UNKNOWN_COMMAND: C_UNKNOWN_COMMAND,
    NAK_BAD_PAYLOAD: C_BAD_PAYLOAD,
    NAK_BAD_SEQ: C_BAD_SEQ,
    NAK_BAD_ARG: C_BAD_ARG,
    NAK_LINK_DOWN: C_LINK_DOWN,
}
