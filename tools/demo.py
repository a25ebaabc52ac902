"""`loa demo`: the embedded default, end to end on this machine. A local locked-down Mosquitto, keys, one unit
provisioned with fake hardware, its agent running, and signed commands from the console with their acks.

Must not import the agent's runtime; it drives the real `loa agent` process like a province would.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from joserfc.jwk import OKPKey

from agent.core.topics import Target
from agent.fakes.sysfs import FakeSysfs
from province import beacon, broker, keys
from province.console import Console, follow_acks
from province.localnet import accepting, free_port
from tools.provision import UnitSpec, dev_clock, provision

Step = Callable[[str], None]
# the HTTTN part (tools.demo_htttn) instead of the console's bulletins: (console, key, broker folder) -> failures
Extra = Callable[[Console, Any, Path], int]
UNIT = "demo-001"


@contextmanager
def running(cmd: list[str], prefix: str) -> Iterator[subprocess.Popen[str]]:
    """A child process whose output is echoed with a prefix; stopped (SIGTERM) on the way out."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    threading.Thread(target=lambda: [print(f"   {prefix} | {ln}", end="", flush=True) for ln in proc.stdout or []],
                     daemon=True).start()
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def run_demo(root: Path, step: Step, htttn: Extra | None = None) -> int:
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "keys" / keys.SIGNING).exists():
        keys.init(root / "keys")
    port = free_port()
    b = broker.init(root / "broker", port)
    step(f"Local Mosquitto on 127.0.0.1:{port}, no anonymous access, one identity per unit ({b.conf})")
    spec = UnitSpec(UNIT, root / "keys" / keys.TRUST, f"mqtt://127.0.0.1:{port}", root / UNIT,
                    groups=("xa-demo", "province"), broker_dir=b.root, audio="wav:audio-out",
                    quiet_hours="off",  # off so the demo sounds at any hour; units default to 22:00-05:00
                    extra=dev_clock({"device": {"location": [13.9876, 107.9543]},  # the machine's clock is trusted
                                     "hardware": {"monitor": "pi-ina219", "sysfs_root": str(_sensors(root))}}))
    config = provision(spec)
    step(f"Unit {UNIT} provisioned with fake hardware: {config}")
    with running(broker.command(b.root), "mosquitto"), running(
            [sys.executable, "-m", "tools.cli", "agent", "--config", str(config)], UNIT):
        _wait_port(port)
        return _console_session(b, root, step, htttn)


def _sensors(root: Path) -> Path:
    """The demo unit's sensors: a fake kernel tree its real sensor reader reads (health and link in its status)."""
    sysfs = FakeSysfs(root / "sysfs")
    sysfs.temp_c(46.8)
    sysfs.amp_w(38.5)
    sysfs.default_route("eth0")
    return sysfs.root


def _wait_port(port: int) -> None:
    for _ in range(100):
        if accepting(port):
            return
        time.sleep(0.05)


def _console_session(b: broker.BrokerDir, root: Path, step: Step, htttn: Extra | None) -> int:
    console = Console(broker.console_access(b.root))
    key = keys.load_signing(root / "keys" / keys.SIGNING)
    step("The province's signed time beacon goes to the group `province` every 60 s while the demo runs")
    stop_beacon = beacon.start_thread(beacon.BeaconSender(
        key, ("province",), lambda topic, token: console.publish(topic, token, qos=0), every_s=60.0))
    try:
        console.subscribe(console.topics.all_reports("ack"), console.topics.report(UNIT, "status"))
        _wait_status(console, lambda s: s.get("online") is True)
        step("Unit online. Sending a signed `ping` to the commune group, then a 3 s relay test to the unit:")
        failures = _send(console, key, Target("grp", "xa-demo"), "ping", {}, 5)
        failures += _send(console, key, Target("dev", UNIT), "relay", {"zone": 1, "on": True, "for_s": 3}, 8)
        step("A forged command (signed with a key the unit does not trust) is refused:")
        forged = OKPKey.generate_key("Ed25519", auto_kid=True)
        failures += 1 - _send(console, forged, Target("dev", UNIT), "relay", {"zone": 1, "on": True}, 5)
        failures += htttn(console, key, b.root) if htttn else _bulletins(console, key, root, step)
        step("Retained status of the unit: " + json.dumps(_wait_status(console, lambda s: "relays" in s)))
        return 0 if failures == 0 else 1
    finally:
        stop_beacon()
        console.close()


BULLETIN = ("Bản tin sáng của xã. Hôm nay trời nắng, nhiệt độ từ hai mươi hai đến ba mươi độ. "
            "Đề nghị bà con chú ý phòng chống sốt xuất huyết.")
ALERT = "Thông báo khẩn cấp: lũ quét tại thôn Hai. Đề nghị bà con di chuyển lên vùng cao ngay."


def _bulletins(console: Console, key: Any, root: Path, step: Step) -> int:
    """A spoken bulletin as MP3 over HTTP, and an emergency that cuts into it; then where the audio went."""
    from agent.adapters.audio.espeak_tts import EspeakSpeech
    from tools.http_files import BulletinServer

    speech = EspeakSpeech(root / "tts")
    mp3 = speech.to_mp3(speech.synthesize(BULLETIN, "vi")).read_bytes()
    server = BulletinServer({"ban-tin-sang.mp3": mp3})
    try:
        step(f"A normal bulletin (espeak-ng speech as MP3, {len(mp3)} bytes) from {server.url('ban-tin-sang.mp3')}:")
        normal = console.send(key, Target("dev", UNIT), "play", {
            "source": {"url": server.url("ban-tin-sang.mp3"), "sha256": hashlib.sha256(mp3).hexdigest()},
            "title": "Bản tin sáng"})
        _follow(console, {normal}, until_state="started", wait_s=20)
        step("An emergency cuts into it; the bulletin is re-queued and plays again whole afterwards:")
        alert = console.send(key, Target("dev", UNIT), "play", {
            "source": {"tts": ALERT, "lang": "vi"}, "priority": "emergency", "title": "Cảnh báo lũ quét"})
        failures = _follow(console, {normal, alert}, until_state="finished", wait_s=60)
    finally:
        server.close()
    _show_audio(root / UNIT / "audio-out", step)
    return failures


def _follow(console: Console, jtis: set[str], until_state: str, wait_s: float) -> int:
    done: dict[str, str] = {}
    for _topic, payload, _ in console.messages(time.monotonic() + wait_s):
        ack = json.loads(payload)
        if ack.get("jti") in jtis and "state" in ack:
            print(f"   ack {ack['dev']} {ack['jti'][:8]}: {ack['state']} ({ack['code']}) {ack['msg']}")
            if ack["state"] in (until_state, "failed", "rejected", "expired"):
                done[ack["jti"]] = ack["state"]
            if set(done) == jtis:
                break
    return sum(1 for s in done.values() if s != until_state) + len(jtis - set(done))


def _show_audio(folder: Path, step: Step) -> None:
    step(f"Decoded audio written by libVLC (output wav:{folder}):")
    for wav in sorted(folder.glob("*.wav")):
        with wave.open(str(wav), "rb") as w:
            print(f"   {wav.name}: {w.getnframes() / w.getframerate():.1f} s, {w.getframerate()} Hz")


def _send(console: Console, key: Any, target: Target, cmd: str, args: dict[str, Any], wait_s: float) -> int:
    jti = console.send(key, target, cmd, args)
    last = follow_acks(console, jti, wait_s, lambda dev, a: print(f"   ack {dev}: {a['state']} ({a['code']}) {a['msg']}"))
    return sum(1 for a in last.values() if a["state"] in ("rejected", "failed")) or (0 if last else 1)


def _wait_status(console: Console, ok: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    for topic, payload, _ in console.messages(time.monotonic() + 10):
        if topic.endswith("/status") and ok(status := json.loads(payload)):
            return dict(status)
    return {}
