# Names vulture cannot see used, read by .ci/gates (`vulture agent sim tools province .ci/vulture_allowlist.py`).
# Vulture only reads this file: `_` stands for any object. Each entry says why it stays; a part that nothing in the
# running agent, the simulator or the tools uses does not belong here: wire it in or delete it.
# ruff: noqa

# paho calls these callbacks and encodes these properties
_.on_connect
_.on_disconnect
_.on_publish
_.on_socket_open
_.on_socket_close
_.on_socket_register_write
_.on_socket_unregister_write
_.SessionExpiryInterval

# paho.Client's private members that the simulator's batched client overrides (behind an exact paho pin)
_._sock_recv
_._create_socket_connection
_._last_msg_out
_._last_bytes_received

# http.server and socketserver read these class attributes and call these handlers by name
daemon_threads
address_family
timeout
server_version
sys_version
_.log_message
do_HEAD
_.do_POST
_.handle_error
_.close_connection

# io.RawIOBase's protocol, called by the buffered reader http.server wraps around the request socket
_.readable
_.readinto

# The page server's connection count, read by the hostile-request tests that check the cap
_.open_connections

# tarfile writes these TarInfo fields into each member's header (bundles are reproducible, owned by root)
_.gid
_.gname
_.uname

# The host half of the co-processor's wire format: constants, decoded fields and frame builders that the golden
# vectors check against firmware/wire.py, so both sides keep one vocabulary
PROTOCOL_VERSION
FLOOR_CDBFS
BAD_ARG
firmware
sensor_count
_.confirmed
decode_frame
set_relays

# Fields of hw/*.toml that describe the part for technicians (provenance, supply, contacts, connector, the port
# its AT commands use): the one config engine refuses unknown keys, so the data model must name them
sources
unconfirmed
supply
contacts
contact_rating
at_port
alsa_device
connector

# A verified command keeps every claim of its token, the issuer too (checked against the policy while parsing)
iss

# The port's vocabulary, published for adapters and checked by tests/docs against the protocol document
TERMINAL_KINDS
FAIL_REASONS

# Fakes ship with the agent for tests and the simulator: their fault injection and recorded history are driven
# and read by tests
_.fail_source
_.fail_next
_.refuse_next
_.fail_sets
_.fail_reads
_.fail
_.dropped_bytes
_.noise_sent
NullPlayer  # the Player fake for tests that need no sound (tests/agent/fakes)

# paho's public property, set rather than called
_.connect_timeout

# hw/audio is checked by tests/agent/catalog so the shipped data stays valid; provisioning of audio outputs reads it
load_audio

# hw/ data for the card's config.txt (lines that hold a HAT's pins off during boot); flash.sh does not write it yet
boot_config

# The tests' proof that a store survived a full card or a kill intact (PRAGMA integrity_check)
integrity_ok

# The cache's usage (bytes, files, pins): what the quota and pin-share tests assert on
_.usage
bytes_used

# http.server reads a handler's protocol_version (HTTP/1.1 keep-alive for the HTTTN emulator)
_.protocol_version
# the gateway profile's identity is read by name through dataclasses.asdict (`profile.<key>` sources in a profile)
_.source_id
_.source_name
_.supplier_code
_.supplier_name

# socketserver calls a server's get_request (the gateway's inbound API wraps each accepted socket in TLS there)
_.get_request
# the benchmark's hook into the HTTTN emulator's sending side (tools/bench and tests call it)
via_emulator
