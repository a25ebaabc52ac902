"""`loa demo --htttn`: the embedded demo's unit joins an emulated provincial HTTTN through the real gateway. The
emulator (`loa gateway emulate`) and the gateway (`loa gateway --config`) run as processes beside the demo's broker
and unit; the unit pings and counts as connected; a bulletin relayed from the central HTTTN plays on the unit and
its bulletin log arrives back at the HTTTN with its origin. Narrated in the staff's language (tools/strings).

Must not import the gateway's service modules: it drives the real processes as a province would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.core.topics import Target
from province.console import Console, follow_acks
from tools.gateway import profile as profiles
from tools.gateway.local import LocalHtttn, field_from, wait_for

Say = Callable[..., None]
PING_S = 5  # a province pings every 60 s; the demo shows the indicator sooner
ORIGIN = "central"  # Loa's name for the central HTTTN (the gateway's bulletin operations give the same)
TEXT = "Bản tin thời sự trung ương. Đề nghị bà con chú ý phòng chống rét đậm, rét hại."


def session(say: Say, lang: str, folder: Path) -> Callable[[Console, Any, Path], int]:
    """The HTTTN part of the demo, for tools.demo.run_demo: (console, signing key, broker folder) -> failures."""

    def run(console: Console, key: Any, broker_root: Path) -> int:
        gw = LocalHtttn(folder, broker_root, ping_s=PING_S, lang=lang)
        say("demo_htttn_starting")
        gw.start()
        try:
            return _connected(gw, say) or _bulletin(console, key, gw, say)
        finally:
            gw.stop()
            say("demo_htttn_stopped", folder=folder)

    return run


def _connected(gw: LocalHtttn, say: Say) -> int:
    """0 once the emulator counts the unit as connected (its first ping), 1 if it never does."""
    ok = wait_for(lambda: gw.pings(180)[1] >= 1, 3 * PING_S + 20)
    indicator = gw.indicator()
    say("demo_htttn_connected", connected=indicator["connected"], total=indicator["total"], url=gw.url)
    return 0 if ok else 1


def _bulletin(console: Console, key: Any, gw: LocalHtttn, say: Say) -> int:
    profile = profiles.load(gw.profile)
    id_field = field_from(profile, "bulletin_log", "log.bulletin.id")
    origin_field = field_from(profile, "bulletin_log", "log.bulletin.origin")
    bulletin_id, seen = f"TW-demo-{int(time.time())}", gw.last_log()
    say("demo_htttn_bulletin", id=bulletin_id, origin=ORIGIN)
    jti = send_as_the_htttn_would(console, key, bulletin_id)
    last = follow_acks(console, jti, 60, lambda dev, a: say("demo_htttn_ack", dev=dev, state=a["state"],
                                                               code=a["code"]))
    failures = sum(1 for a in last.values() if a["state"] != "finished") or (0 if last else 1)
    log = _wait_log(gw, seen, id_field, bulletin_id)
    if log is None:
        say("demo_htttn_no_log", id=bulletin_id)
        return failures + 1
    say("demo_htttn_log", id=bulletin_id, field=origin_field, origin=log.get(origin_field),
        body=json.dumps(log, ensure_ascii=False))
    say("demo_htttn_page", url=gw.url)
    return failures + (0 if log.get(origin_field) == ORIGIN else 1)


def send_as_the_htttn_would(console: Console, key: Any, bulletin_id: str) -> str:
    """The bulletin the HTTTN relays from the central HTTTN, to the whole province in one group publish; its jti.

    Sent by the demo's console with the bulletin metadata the gateway would give it: the emulator's sending side
    and the gateway's inbound API are built apart; once they are in, this becomes the emulator's call."""
    return console.send(key, Target("grp", "province"), "play", {
        "source": {"tts": TEXT, "lang": "vi"}, "priority": "normal", "title": "Thời sự trung ương",
        "bulletin": {"id": bulletin_id, "title": "Bản tin thời sự trung ương", "source": "Đài Tiếng nói Việt Nam",
                     "origin": ORIGIN}})


def _wait_log(gw: LocalHtttn, seen: int, id_field: str, bulletin_id: str) -> dict[str, Any] | None:
    found: list[dict[str, Any]] = []

    def arrived() -> bool:
        found.extend(body for _, _, _, body in gw.logs_since(seen) if body.get(id_field) == bulletin_id)
        return bool(found)

    wait_for(arrived, 30)
    return found[0] if found else None

