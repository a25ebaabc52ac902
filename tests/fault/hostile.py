"""The campaign's hostile kinds (issue 14's field review, replayed at random against a real agent):

- takeover: another unit's credentials on the unit listener (its password) and on the TLS listener (its
  certificate) ask for the victim's client id (`loa-<id>` and `<id>`) with a clean start, MQTT 3.1.1 and 5, while
  the victim runs and while it is down with commands queued; the intruder subscribes to the victim's commands and
  publishes reports in its name. The victim is never pushed off, the intruder gets nothing and forges nothing,
  nothing queued is wiped.
- sources: signed plays whose source redirects out of the unit's policy (file:, ftp:, data:, gopher:, another host,
  through a chain), as downloads and as streams, and downloads that trickle past a short download deadline, mixed
  with emergencies spoken from text. Each refused play ends `failed` with its code and never starts; each emergency
  starts within 2 s of its `accepted` ack.
- pages: malformed, oversized and slow requests and floods of connections against the unit's status page, from
  several client addresses. Every answer to a malformed request is a refusal (or the connection is closed), no
  traceback reaches the agent's log, and a good request is answered afterwards.

All three, and the relays kind (tests/fault/run.py: the relays fail while commands arrive), also require every valid
command sent to the unit to be answered. Imports no agent internals.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.fault import invariants as inv
from tests.fault import pages as page_attacks

if TYPE_CHECKING:
    from tests.fault.run import Run

HOSTILE = ("takeover", "sources", "pages")
ANSWERED = (*HOSTILE, "relays")  # the kinds in which every valid command must be answered, not only the last probe
LINK_LOST = "Lost the connection to the provincial server"
EMERGENCY_START_S = 2.0
PING_ANSWER_S = 5.0  # a ping sent while the status page is under attack is answered within this
REDIRECT_CODES = frozenset({"redirect_refused", "source_refused"})
INTRUDER_JTI = "intruder-"
WARNING = "Cảnh báo: lũ quét. Người dân di chuyển lên vùng cao ngay."


def unit_options(kind: str) -> dict[str, Any]:
    """What a hostile kind needs of its unit: a source policy with a short deadline, or a status page."""
    if kind == "sources":
        return {"extra": {"sources": {"download_deadline_s": 5, "allowed_hosts": ["127.0.0.1"],
                                      "plain_http_stream_hosts": ["127.0.0.1"]}}}
    if kind == "pages":
        return {"status_page": True}
    return {}


# ---- takeover ----------------------------------------------------------------------------------------------------


def takeover(run: Run, seconds: float) -> None:
    victim = run.unit.device_id
    got: list[str] = []
    until = time.monotonic() + seconds
    while time.monotonic() < until or run.counts["takeover_attempts"] < 2:
        _intrude(run, got, run.rng.choice((victim, f"loa-{victim}")), run.rng.random() < 0.5, hold=True,
                 tls=run.rng.random() < 0.5)
        run.traffic.valid("ping", {})
        run.pause(0.1, 0.4)
    run.kill()  # down with a persistent session: what is queued for it now must survive clean-start connects
    for _ in range(3):
        run.traffic.random_valid()
    for cid in (victim, f"loa-{victim}"):
        for tls in (False, True):
            _intrude(run, got, cid, run.rng.random() < 0.5, hold=False, tls=tls)
    run.start()
    run.expect.append(lambda r: _takeover_checks(r, got))


def _intrude(run: Run, got: list[str], client_id: str, v5: bool, *, hold: bool, tls: bool) -> None:
    """One connect with the intruder's own credentials (its password on the unit listener, or its certificate on the
    TLS listener) and the victim's client id, clean start; while connected it subscribes to the victim's topics and
    publishes a forged ack for it."""
    intruder = run.rig.intruder()
    victim = run.unit.device_id
    connected = threading.Event()
    if v5:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    else:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    if tls:
        client.tls_set(ca_certs=str(intruder.ca_pem), certfile=str(intruder.cert), keyfile=str(intruder.key))
    else:
        client.username_pw_set(intruder.user, intruder.password)
    port = run.rig.tls_port if tls else run.rig.broker_port
    client.on_connect = lambda c, _u, _f, rc, _p: connected.set()
    client.on_message = lambda _c, _u, m: got.append(m.topic)
    if v5:
        client.connect("127.0.0.1", port, keepalive=5, clean_start=True)
    else:
        client.connect("127.0.0.1", port, keepalive=5)
    client.loop_start()
    try:
        connected.wait(3)
        client.subscribe([(f"loa/v1/dev/{victim}/cmd", 1), (f"loa/v1/dev/{victim}/#", 1), ("#", 1)])
        forged = f'{{"dev":"{victim}","jti":"{INTRUDER_JTI}{run.counts["takeover_attempts"]}","cmd":"ping",' \
                 f'"state":"finished","ts":{int(time.time() * 1000)}}}'
        client.publish(f"loa/v1/dev/{victim}/ack", forged, qos=1)
        time.sleep(run.rng.uniform(0.3, 1.0) if hold else 0.2)
    finally:
        client.disconnect()
        client.loop_stop()
    run.counts["takeover_attempts"] += 1
    run.counts["takeover_tls" if tls else "takeover_password"] += 1
    run.counts["intruder_connected"] += connected.is_set()


def _takeover_checks(run: Run, got: list[str]) -> list[str]:
    victim = run.unit.device_id
    found = [f"the intruder received {topic} meant for the victim" for topic in got if victim in topic][:5]
    acks = inv.decoded(run.rig.recorder.of(victim), "ack")
    found += [f"a report forged by the intruder arrived in the victim's name: {a}" for a in acks
              if str(a.get("jti", "")).startswith(INTRUDER_JTI)][:5]
    log = run.rig.broker_log()
    found += [f"the broker pushed the victim off: {line.strip()}" for line in log.splitlines()
              if "already connected" in line and (f" {victim} " in line or f" loa-{victim} " in line)][:5]
    lost = run.unit.output().count(LINK_LOST)
    if lost:
        found.append(f"the victim lost its link {lost} times during takeover attempts")
    return found


# ---- sources -----------------------------------------------------------------------------------------------------


def sources(run: Run, seconds: float) -> None:
    refused: dict[str, frozenset[str]] = {}
    emergencies: list[str] = []
    until = time.monotonic() + seconds
    while time.monotonic() < until or len(refused) < 3:
        roll = run.rng.random()
        if roll < 0.35:
            name = run.rng.choice(sorted(run.rig.http.routes.redirects))
            refused[_redirected(run, name, stream=run.rng.random() < 0.4)] = REDIRECT_CODES
            run.counts["redirects"] += 1
        elif roll < 0.6:
            refused[_trickle(run)] = frozenset({"download_timeout"})
            run.counts["trickles"] += 1
        else:
            emergencies.append(_emergency(run))
        run.pause(0.2, 0.8)
    run.expect.append(lambda r: _sources_checks(r, refused, emergencies))


def _redirected(run: Run, name: str, *, stream: bool) -> str:
    url = run.rig.http.url(f"/redirect/{name}")
    source = {"stream": url} if stream else {"url": url, "sha256": run.rig.local_sha}
    args: dict[str, Any] = {"source": source, "priority": run.rng.choice(("normal", "priority")), "title": "redirect"}
    if stream:
        args["until"] = int(time.time()) + 60
    jti = run.traffic.valid("play", args).jti
    assert jti is not None
    return jti


def _trickle(run: Run) -> str:
    source = {"url": run.rig.trickle.url("/files/slow.wav"), "sha256": run.rig.trickle_sha}
    jti = run.traffic.valid("play", {"source": source, "priority": "normal", "title": "trickle"}).jti
    assert jti is not None
    return jti


def _emergency(run: Run) -> str:
    """An emergency spoken from text, sent only when the last one finished (one emergency waits behind another)."""
    jti = run.traffic.valid("play", {"source": {"tts": WARNING}, "priority": "emergency", "title": "emergency"}).jti
    assert jti is not None
    run.counts["emergencies"] += 1
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not _ended(run, jti):
        time.sleep(0.1)
    return jti


def _ended(run: Run, jti: str) -> bool:
    return any(a.get("jti") == jti and a.get("state") in ("finished", "failed", "preempted", "expired")
               for a in inv.decoded(run.rig.recorder.of(run.unit.device_id), "ack"))


def _sources_checks(run: Run, refused: dict[str, frozenset[str]], emergencies: list[str]) -> list[str]:
    acks = inv.decoded(run.rig.recorder.of(run.unit.device_id), "ack")
    by_jti: dict[str, list[dict[str, Any]]] = {}
    for a in acks:
        by_jti.setdefault(str(a.get("jti")), []).append(a)
    found = []
    for jti, codes in refused.items():
        states = by_jti.get(jti, [])
        if any(a.get("state") == "started" for a in states):
            found.append(f"play {jti} from a refused source started")
        final = next((a for a in reversed(states) if a.get("state") not in ("accepted", "started")), None)
        if final is None or final.get("state") != "failed" or final.get("code") not in codes:
            found.append(f"play {jti} ended {final and (final.get('state'), final.get('code'))}, not {sorted(codes)}")
    for jti in emergencies:
        found += _emergency_start(jti, by_jti.get(jti, []))
    return found


def _emergency_start(jti: str, acks: list[dict[str, Any]]) -> list[str]:
    ts = {a.get("state"): int(a.get("ts", 0)) for a in reversed(acks)}  # the first of each state
    if "accepted" not in ts or "started" not in ts:
        return [f"emergency {jti} was not accepted and started: {[a.get('state') for a in acks]}"]
    late = (ts["started"] - ts["accepted"]) / 1000
    return [f"emergency {jti} started {late:.2f} s after accepted"] if late > EMERGENCY_START_S else []


# ---- pages -------------------------------------------------------------------------------------------------------


def pages(run: Run, seconds: float) -> None:
    outcomes: Counter[str] = Counter()
    problems: list[str] = []
    pings: list[tuple[str, float]] = []
    over = threading.Event()
    pinger = threading.Thread(target=_ping_until, args=(run, over, pings), daemon=True)
    pinger.start()
    try:
        page_attacks.attack(run.unit.status_port, run.rng, seconds, outcomes, problems)
    finally:
        over.set()
        pinger.join()
    answers = {k: v for k, v in outcomes.items() if k.startswith("answer_")}
    run.counts["page_requests"] += sum(answers.values())
    run.counts["slow_clients"] += outcomes["slow"]
    run.counts.update({f"page_{k}": v for k, v in answers.items()})
    good = page_attacks.good_request(run.unit.status_port, timeout_s=20)
    if good != 200:
        problems.append(f"the status page did not answer a good request after the attack: {good}")
    output = run.unit.output()
    if "Traceback" in output:
        problems.append("a traceback in the agent's log: " + output[output.index("Traceback"):][:400])
    run.expect.append(lambda r: problems + _answered_in_time(r, pings))


def _ping_until(run: Run, over: threading.Event, pings: list[tuple[str, float]]) -> None:
    """A ping a second while the pages are under attack: the loop that drives the relays must keep answering."""
    while not over.wait(1.0):
        jti = run.traffic.valid("ping", {}).jti
        assert jti is not None
        pings.append((jti, time.monotonic()))


def _answered_in_time(run: Run, pings: list[tuple[str, float]]) -> list[str]:
    first: dict[str, float] = {}
    for record in run.rig.recorder.of(run.unit.device_id):
        for ack in inv.decoded([record], "ack"):
            first.setdefault(str(ack.get("jti")), record[0])
    late = [(jti, first.get(jti, float("inf")) - sent) for jti, sent in pings]
    return [f"ping {jti} during the page attack answered after {delay:.1f} s" for jti, delay in late
            if delay > PING_ANSWER_S][:5]


# ---- every hostile kind ------------------------------------------------------------------------------------------


def answered(run: Run) -> list[str]:
    """Every valid command sent to the unit got an answer (an ack naming it)."""
    acks = inv.decoded(run.rig.recorder.of(run.unit.device_id), "ack")
    return inv.answered(acks, [s.jti for s in run.traffic.sent if s.kind == "valid" and s.jti])


TIMELINES: dict[str, Callable[[Run, float], None]] = {"takeover": takeover, "sources": sources, "pages": pages}
