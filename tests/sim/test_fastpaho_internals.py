"""The paho internals the simulator's fast client relies on (sim/fastpaho.py), checked one by one: each private method
it overrides or calls still exists with the same signature, each private attribute it reads or writes is still
there with the same kind of value, and paho still routes its I/O through the members the client overrides. A paho
release that changes any of them fails here, before a shard misbehaves. The exact version is refused at import."""

from __future__ import annotations

import configparser
import inspect
import re
from pathlib import Path

import paho.mqtt
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sim import fastpaho
from sim.fastpaho import PAHO_VERSION, PahoVersionError, require_paho

ROOT = Path(__file__).resolve().parents[2]

# name -> the signature paho 2.2.0 gives it (as inspect prints it, annotations as strings)
METHODS = {
    "_handle_pubackcomp": "(self, cmd: \"Literal['PUBACK', 'PUBCOMP']\") -> 'MQTTErrorCode'",
    "_handle_publish": "(self) -> 'MQTTErrorCode'",
    "_easy_log": "(self, level: 'LogLevel', fmt: 'str', *args: 'Any') -> 'None'",
    "_do_on_publish": "(self, mid: 'int', reason_code: 'ReasonCode', properties: 'Properties') -> 'MQTTErrorCode'",
    "_sock_send": "(self, buf: 'bytes | bytearray') -> 'int'",
    "_sock_recv": "(self, bufsize: 'int') -> 'bytes'",
    "_packet_read": "(self) -> 'MQTTErrorCode'",
    "_packet_handle": "(self) -> 'MQTTErrorCode'",
    "_mid_generate": "(self) -> 'int'",
    "_create_socket_connection": "(self) -> '_socket.socket'",
}

# attribute -> the type of its value on a new client (`_sock` is None until a connect)
ATTRIBUTES = {
    "_in_packet": "dict", "_out_message_mutex": "RLock", "_out_messages": "OrderedDict", "_sock": "NoneType",
    "_protocol": "MQTTProtocolVersion", "_last_msg_out": "float", "_last_bytes_received": "float",
    "_bind_address": "str", "_bind_port": "int", "_host": "str", "_port": "int",
}

IN_PACKET_KEYS = ["command", "have_remaining", "packet", "pos", "remaining_count", "remaining_length", "remaining_mult",
                  "to_process"]

# paho method -> what its source must still contain for the overrides to be on the path
CALL_SITES = {
    "_packet_write": ["self._sock_send("],  # every socket write goes through _sock_send (batching)
    "_packet_read": ["self._sock_recv("],  # every socket read goes through _sock_recv (whole-buffer reads)
    "_packet_handle": ['self._handle_pubackcomp("PUBACK")', "self._handle_publish()"],  # the cheap PUBACK
    "_create_socket": ["self._create_socket_connection()"],  # the non-blocking TCP connect
    "_packet_queue": ["self._on_socket_register_write is None", "return self.loop_write()"],  # inline writes
    "reconnect": ["self._sock.setblocking(False)", "self._call_socket_open(self._sock)"],
}


def test_the_installed_paho_is_the_one_the_fast_client_was_written_for() -> None:
    assert paho.mqtt.__version__ == PAHO_VERSION


def test_any_other_paho_release_is_refused_with_the_expected_version_named() -> None:
    for other in ("2.1.0", "2.2.1", "3.0.0"):
        with pytest.raises(PahoVersionError, match=re.escape(f"needs paho-mqtt=={PAHO_VERSION}")) as caught:
            require_paho(other)
        assert f"paho-mqtt {other} is installed" in str(caught.value)
    assert isinstance(caught.value, RuntimeError)


def test_the_package_pins_the_paho_minor_the_simulator_needs() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    pins = [line.strip() for line in cfg["options"]["install_requires"].splitlines() if line.startswith("paho-mqtt")]
    major, minor, _patch = PAHO_VERSION.split(".")
    assert pins == [f"paho-mqtt>={major}.{minor},<{major}.{int(minor) + 1}"]


@pytest.mark.parametrize("name", sorted(METHODS))
def test_each_private_method_it_touches_keeps_its_signature(name: str) -> None:
    assert str(inspect.signature(getattr(mqtt.Client, name))) == METHODS[name]


def test_each_private_attribute_it_touches_is_there() -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="internals", protocol=mqtt.MQTTv5)
    assert {name: type(getattr(client, name)).__name__ for name in ATTRIBUTES} == ATTRIBUTES
    assert sorted(client._in_packet) == IN_PACKET_KEYS  # the fast reader builds this dict itself
    assert client._protocol == mqtt.MQTTv5


def test_the_module_constants_it_uses_are_there() -> None:
    assert (mqtt.PUBLISH, mqtt.PUBACK, mqtt.DISCONNECT) == (0x30, 0x40, 0xE0)
    assert callable(mqtt.time_func) and mqtt.MQTT_LOG_DEBUG and mqtt.MQTT_LOG_ERR


@pytest.mark.parametrize("name", sorted(CALL_SITES))
def test_paho_still_routes_through_the_members_it_overrides(name: str) -> None:
    source = inspect.getsource(getattr(mqtt.Client, name))
    missing = [snippet for snippet in CALL_SITES[name] if snippet not in source]
    assert not missing, f"paho's {name} no longer contains {missing}"


def test_every_private_member_the_fast_client_uses_is_checked_here() -> None:
    """A new use of a paho private in sim/fastpaho.py must be added to the lists above."""
    source = Path(fastpaho.__file__).read_text(encoding="utf-8")
    own = {"_inbox", "_inbox_at", "_refill", "_take", "_publish_in", "_paho_takes", "_PUBACK_CODES", "_NO_PROPERTIES"}
    used = set(re.findall(r"(?:self|super\(\))\.(_[a-z][a-z_]*)", source)) - own
    assert used <= set(METHODS) | set(ATTRIBUTES), used - set(METHODS) - set(ATTRIBUTES)
