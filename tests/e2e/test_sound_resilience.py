"""Sound that survives the field: the programme plays with the broker down (its play logs follow when it
returns), and a download cut by killing the agent never leaves a corrupt file in the cache."""

from __future__ import annotations

import hashlib
import signal
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from province.console import Console
from province.keys import load_signing
from tests.agent.adapters.audio.sound_helpers import encode, make_tone_wav, measure_wav
from tests.conftest import Broker, wait_until
from tests.e2e.link_helpers import UnitWatch
from tests.e2e.sound_helpers import file_source, sound_unit


def test_the_programme_plays_with_the_broker_down_and_its_play_log_arrives_later(
    make_unit, broker: Broker, keys: Path, http_server, media
):
    key = load_signing(keys / "signing.jwk")
    console = Console(broker.console_access(), client_id="programme-watch", persistent=True)
    unit = sound_unit(make_unit, mqtt={"reconnect_max_s": 2.0})  # back soon after the broker, whatever the jitter
    watch = UnitWatch(console, unit)
    console.subscribe(console.topics.report(unit.device_id, "playlog"))
    watch.wait_online()
    stored = watch.send(key, "store", {"id": "morning", **file_source(http_server, "m.mp3", media["mp3"].read_bytes())})
    assert watch.wait_acks(stored, {"finished", "failed"}) == ["accepted", "finished"]
    slot_at = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) + timedelta(seconds=6)
    sched = watch.send(key, "schedule", {"version": 1, "slots": [
        {"at": f"{slot_at:%H:%M:%S}", "source": {"ref": "morning"}, "title": "Chương trình buổi sáng"}]})
    assert watch.wait_acks(sched, {"finished", "rejected"}) == ["accepted", "finished"]
    console.client.disconnect()
    console.client.loop_stop()
    broker.stop()
    slot_wav = wait_until(lambda: list((unit.dir / "wavs").glob("slot-1-0-*.wav")), 15)
    assert slot_wav, "the slot did not play with the broker down"
    assert wait_until(lambda: unit.relay_journal() and not unit.relay_journal()[-1]["on"], 10)
    broker.start()
    console = Console(broker.console_access(), client_id="programme-watch", persistent=True)
    try:
        watch = UnitWatch(console, unit)
        console.subscribe(console.topics.report(unit.device_id, "playlog"))
        assert watch.pump(30, lambda: any(p["jti"] is None for p in watch.of("playlog")))
        log = next(p for p in watch.of("playlog") if p["jti"] is None)
        assert (log["priority"], log["result"], log["title"]) == ("scheduled", "completed", "Chương trình buổi sáng")
        assert abs(measure_wav(slot_wav[0]).seconds - 3.0) < 0.15
    finally:
        console.close()


def test_a_download_cut_by_killing_the_agent_never_leaves_a_corrupt_cached_file(
    make_unit, console: Console, keys: Path, http_server, tmp_path: Path
):
    long_mp3 = encode(make_tone_wav(tmp_path / "long.wav", 20.0), tmp_path / "long.mp3", "-c:a", "libmp3lame",
                      "-b:a", "128k").read_bytes()
    source = file_source(http_server, "long.mp3", long_mp3)
    http_server.routes.slow_bytes_per_s = 60_000  # about 5 s for 320 KB
    unit = sound_unit(make_unit)
    watch = UnitWatch(console, unit)
    watch.wait_online()
    key = load_signing(keys / "signing.jwk")
    watch.send(key, "play", {"source": source})
    cache = unit.dir / "state" / "cache"
    assert wait_until(lambda: any(p.stat().st_size > 50_000 for p in (cache / "partial").glob("*.part")), 10)
    unit.stop(signal.SIGKILL)
    for obj in (cache / "objects").glob("*"):  # whatever is served must match its name
        assert hashlib.sha256(obj.read_bytes()).hexdigest() == obj.name
    assert not (cache / "objects" / source["sha256"]).exists()
    http_server.routes.slow_bytes_per_s = 0
    unit.start()
    watch.wait_online()
    again = watch.send(key, "play", {"source": source})
    assert watch.wait_acks(again, {"started", "failed"}, timeout=20)[-1] == "started"
    assert hashlib.sha256((cache / "objects" / source["sha256"]).read_bytes()).hexdigest() == source["sha256"]
    assert any(rng for path, rng in http_server.routes.seen if path.endswith("long.mp3") and rng)  # resumed
