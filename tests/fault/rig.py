"""The fault campaign's world: its own Mosquitto (persistent, so a restart keeps queued messages), command keys, an
HTTP server with test tones (intact, and some served damaged), and a recorder that keeps every report as received.
Runs outside pytest too (the long campaign), so it uses the tools directly, not the test fixtures.

Imports the agent only through tools (provisioning, keys, the broker).
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import signal
import struct
import subprocess
import threading
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from province import broker as broker_tool
from province import ca as ca_tool
from province import keys as key_tool
from province.localnet import accepting, free_port
from tests.agent.adapters.audio.audio_http_server import AudioHttpServer, Routes


def tone(seconds: float, hz: float, rate: int = 16000) -> bytes:
    """A mono 16-bit WAV: libVLC decodes it, and every (seconds, hz) gives other bytes, so another hash."""
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / rate)))
                      for i in range(int(seconds * rate)))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


@dataclass
class Media:
    """Files the server holds: `good` are served as they are, `damaged` are served with flipped bytes."""

    good: dict[str, str] = field(default_factory=dict)  # name -> sha256
    damaged: dict[str, str] = field(default_factory=dict)  # name -> sha256 of the intact file (what is signed)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Intruder:
    user: str
    password: str
    cert: Path
    key: Path
    ca_pem: Path


class Recorder:
    """One persistent MQTT session for the whole campaign: every report of every unit, and the command publisher."""

    def __init__(self, port: int, password: str) -> None:
        self.received: list[tuple[float, str, bytes]] = []
        self._by_device: dict[str, list[tuple[float, str, bytes]]] = {}
        self._connected = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"fault-rec-{uuid.uuid4().hex[:6]}",
                                  clean_session=False)
        self.client.username_pw_set(broker_tool.CONSOLE, password)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        # paho's annotation says int, but it only sleeps on the value; the campaign wants fast reconnects
        self.client.reconnect_delay_set(0.1, 1)  # type: ignore[arg-type]  # paho annotates int; it takes seconds as float
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda _c, _u, m: self._keep(m.topic, bytes(m.payload))
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        if not self._connected.wait(10):
            raise RuntimeError("the recorder cannot connect to the campaign's broker")

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, rc: object, _p: object) -> None:
        client.subscribe("loa/v1/dev/+/+", qos=1)
        self._connected.set()

    def _keep(self, topic: str, payload: bytes) -> None:
        record = (time.monotonic(), topic, payload)
        self.received.append(record)
        self._by_device.setdefault(topic.split("/")[3], []).append(record)

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain)

    def of(self, device_id: str) -> list[tuple[float, str, bytes]]:
        return list(self._by_device.get(device_id, ()))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Rig:
    def __init__(self, root: Path, seed: int = 1) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.keys = root / "keys"
        key_tool.init(self.keys)
        self.signing = key_tool.load_signing(self.keys / key_tool.SIGNING)
        self.broker_dir, self.broker_port, self.tls_port = root / "broker", free_port(), free_port()
        self.ca_dir = root / "ca"  # the TLS listener: a takeover is tried there too
        ca_tool.init(self.ca_dir)
        broker_tool.init(self.broker_dir, self.broker_port, tls_port=self.tls_port, ca_dir=self.ca_dir)
        self.broker: subprocess.Popen[bytes] | None = None
        self.broker_start()
        password = broker_tool.BrokerDir(self.broker_dir).password_file(broker_tool.CONSOLE).read_text().strip()
        self.recorder = Recorder(broker_tool.BrokerDir(self.broker_dir).console_port(), password)
        self.http = AudioHttpServer(Routes(slow_bytes_per_s=400_000)).start()
        self.media = self._media()
        # Hostile sources: a server that trickles (100 B/s: no unit deadline is met), and redirects out of policy.
        self.trickle = AudioHttpServer(Routes(slow_bytes_per_s=100)).start()
        slow = tone(4.0, 520)
        self.trickle.routes.files["slow.wav"] = slow
        self.trickle_sha = hashlib.sha256(slow).hexdigest()
        self.local_wav = root / "local.wav"  # what a redirect to file: would play, with the hash the command signs
        local = tone(1.0, 660)
        self.local_wav.write_bytes(local)
        self.local_sha = hashlib.sha256(local).hexdigest()
        self.http.routes.redirects.update(self._redirects())
        self._intruder: Intruder | None = None

    def _media(self) -> Media:
        media = Media()
        for i in range(8):
            seconds = 0.2 + 0.1 * i
            body = tone(seconds, 300 + 40 * i)
            name = f"tone-{i}.wav"
            damaged = i >= 6  # the last two are always served with a flipped byte
            served = bytes(body[:-100]) + bytes([body[-100] ^ 0x55]) + body[-99:] if damaged else body
            self.http.routes.files[name] = served
            (media.damaged if damaged else media.good)[name] = hashlib.sha256(body).hexdigest()
            media.seconds[name] = seconds
        return media

    def _redirects(self) -> dict[str, str]:
        """Redirects the unit's source policy must refuse (its allow-list is 127.0.0.1, see tests/fault/hostile)."""
        port = self.http.server_address[1]
        return {"file": self.local_wav.as_uri(), "ftp": "ftp://127.0.0.1/local.wav",
                "other-host": f"http://localhost:{port}/files/tone-0.wav", "far-host": "http://10.255.255.1/a.wav",
                "data": "data:audio/wav;base64,UklGRg==", "chain": self.http.url("/redirect/file"),
                "gopher": "gopher://127.0.0.1/local.wav"}

    def url(self, name: str) -> str:
        return self.http.url(f"/files/{name}")

    def intruder(self) -> Intruder:
        """Another unit's identity (its password for the unit listener, its certificate for the TLS listener), for
        takeover attempts."""
        if self._intruder is None:
            name, b = "fault-intruder", broker_tool.BrokerDir(self.broker_dir)
            password = broker_tool.add_device(self.broker_dir, name, ("commune-f",))
            assert password is not None
            authority = ca_tool.load(self.ca_dir)
            ca_tool.issue(authority, name, "unit", b.key_file(name), b.cert_file(name))
            self._intruder = Intruder(name, password.read_text().strip(), b.cert_file(name), b.key_file(name),
                                      authority.ca_pem)
        return self._intruder

    # ---- the broker ----------------------------------------------------------------------------------------

    def broker_start(self) -> None:
        self.broker = broker_tool.start(self.broker_dir)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if accepting(self.broker_port):
                return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start for the fault campaign")

    def broker_log(self) -> str:
        log: Path = broker_tool.BrokerDir(self.broker_dir).log
        return log.read_text(errors="replace")

    def broker_stop(self) -> None:
        """SIGTERM: Mosquitto saves its persistent sessions (queued messages) before it exits."""
        if self.broker and self.broker.poll() is None:
            self.broker.send_signal(signal.SIGTERM)
            self.broker.wait(10)

    def close(self) -> None:
        self.recorder.close()
        self.http.stop()
        self.trickle.stop()
        self.broker_stop()
