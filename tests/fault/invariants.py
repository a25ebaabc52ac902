"""The invariants a fault run must keep, each a function returning the violations it finds (one line each):

- every report committed to the outbox is received by the server at least once;
- no command runs twice (one distinct `accepted` ack per jti), and nothing runs that was not validly signed;
- no damaged file is ever played or stored, and every cached object matches its hash;
- the SQLite store passes `PRAGMA integrity_check`;
- relays are off whenever nothing plays: off first thing after every start, off at rest, and on only inside the
  window of a play (or until the agent died with it on);
- the agent's memory stays below a limit;
- (hostile and relay kinds) every valid command sent is answered.

Pure functions over what a run recorded. Imports only the standard library.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SLACK_S = 1.0
DEATH_SLACK_S = 1.0  # a crash is seen by polling, a little after the agent switched its relays off on the way out


def decoded(received: Iterable[tuple[float, str, bytes]], kind: str) -> list[dict[str, Any]]:
    out = []
    for _, topic, payload in received:
        if topic.endswith("/" + kind):
            try:
                out.append(json.loads(payload))
            except ValueError:
                continue
    return out


def delivered(outbox_seen: Iterable[tuple[str, bytes]], received: Iterable[tuple[float, str, bytes]]) -> list[str]:
    got = {(t, p) for _, t, p in received}
    lost = [(t, p) for t, p in outbox_seen if (t, p) not in got]
    return [f"report committed to the outbox never arrived: {t} {p[:120]!r}" for t, p in lost[:5]] + (
        [f"... and {len(lost) - 5} more"] if len(lost) > 5 else [])


def ran_once(acks: list[dict[str, Any]], valid_jtis: set[str]) -> list[str]:
    accepted: dict[str, set[int]] = defaultdict(set)
    for a in acks:
        if a.get("state") == "accepted":
            accepted[a.get("jti") or "?"].add(a.get("ts", 0))
    twice = [f"command {jti} accepted {len(ts)} times (ts {sorted(ts)})" for jti, ts in accepted.items() if len(ts) > 1]
    foreign = [f"command {jti} was accepted but never validly sent" for jti in accepted if jti not in valid_jtis]
    return twice + foreign


def never_played_damaged(acks: list[dict[str, Any]], damaged: dict[str, str]) -> list[str]:
    """`damaged`: jti -> command (play or store) whose file the server damaged."""
    return [f"{damaged[a['jti']]} {a['jti']} of a damaged file reached state {a['state']}"
            for a in acks if a.get("jti") in damaged and a.get("state") in ("started", "finished")]


def cache_intact(cache: Path) -> list[str]:
    bad = []
    for obj in sorted((cache / "objects").glob("*")) if (cache / "objects").is_dir() else []:
        try:
            digest = hashlib.sha256(obj.read_bytes()).hexdigest()
        except OSError:
            continue  # evicted while we looked
        if digest != obj.name:
            bad.append(f"cached object {obj.name} holds content with SHA-256 {digest}")
    return bad


def integrity(result: str) -> list[str]:
    return [] if result == "ok" else [f"SQLite integrity_check: {result}"]


def off_after_start(journal: list[dict[str, Any]], start_positions: list[int], zones: tuple[int, ...]) -> list[str]:
    """After every start, each zone is switched off before anything switches it on."""
    problems = []
    for pos in start_positions:
        first: dict[int, bool] = {}
        for entry in journal[pos:]:
            first.setdefault(int(entry["zone"]), bool(entry["on"]))
        wrong = [z for z in zones if first.get(z, False)]
        if wrong or set(first) < set(zones):
            problems.append(f"after the start at journal line {pos}, zones {wrong or sorted(set(zones) - set(first))}"
                            " were not switched off first")
    return problems


def off_at_rest(journal: list[dict[str, Any]], zones: tuple[int, ...]) -> list[str]:
    last = {int(e["zone"]): bool(e["state"]) for e in journal}
    on = [z for z in zones if last.get(z, False)]
    return [f"zones {on} are on with nothing playing"] if on else []


def play_windows(playlogs: list[dict[str, Any]], lead_s: float, tail_s: float) -> list[tuple[float, float]]:
    """When relays may be on for each play that ended (agent clock, s): warm-up before, tail after."""
    windows = []
    for p in playlogs:
        end = p["ended_ts"] / 1000
        start = (p.get("started_ts") or p["ended_ts"]) / 1000
        windows.append((start - lead_s - SLACK_S, end + tail_s + SLACK_S))
    return sorted(windows)


def received_windows(received: list[tuple[float, str, bytes]], lead_s: float, tail_s: float,
                     wall_minus_mono: float) -> list[tuple[float, float]]:
    """The same windows in the server's time: from a play's `accepted` ack to its play log, as received (for runs
    where the unit's own clock is wrong on purpose; the journal is in true wall time)."""
    accepted: dict[str, float] = {}
    windows = []
    for t, topic, payload in received:
        body = json.loads(payload) if topic.endswith(("/ack", "/playlog")) else {}
        jti, wall = body.get("jti"), t + wall_minus_mono
        if topic.endswith("/ack") and body.get("cmd") == "play" and body.get("state") == "accepted" and jti:
            accepted.setdefault(jti, wall)
        elif topic.endswith("/playlog") and jti in accepted:
            windows.append((accepted[jti] - lead_s - SLACK_S, wall + tail_s + SLACK_S))
    return sorted(windows)


def on_intervals(journal: list[dict[str, Any]]) -> list[tuple[int, float, float]]:
    since: dict[int, float] = {}
    out = []
    for e in journal:
        zone, ts = int(e["zone"]), float(e["ts"])
        if e["state"] and zone not in since:
            since[zone] = ts
        elif not e["state"] and zone in since:
            out.append((zone, since.pop(zone), ts))
    return out + [(z, t, float("inf")) for z, t in since.items()]


def on_only_while_playing(journal: list[dict[str, Any]], windows: list[tuple[float, float]],
                          kills: list[float]) -> list[str]:
    problems = []
    for zone, on, off in on_intervals(journal):
        if any(on - DEATH_SLACK_S <= k <= off + DEATH_SLACK_S for k in kills):
            continue  # the agent died with the relay on; the next start switched it off (on a unit: the co-processor)
        if not _covered(on, off, windows):
            problems.append(f"zone {zone} on from {on:.3f} to {off:.3f} with no play in progress")
    return problems


def _covered(start: float, end: float, windows: list[tuple[float, float]]) -> bool:
    at = start
    for a, b in windows:
        if a <= at <= b:
            at = max(at, b)
        if at >= end:
            return True
    return at >= end


def memory(rss_max_kb: int, limit_kb: int) -> list[str]:
    return [f"agent RSS reached {rss_max_kb} kB, the limit is {limit_kb} kB"] if rss_max_kb > limit_kb else []


def answered(acks: list[dict[str, Any]], valid_jtis: Iterable[str]) -> list[str]:
    """Every valid command got at least one ack."""
    seen = {a.get("jti") for a in acks}
    missing = [j for j in valid_jtis if j not in seen]
    return [f"valid command {j} was never answered" for j in missing[:5]] + (
        [f"... and {len(missing) - 5} more"] if len(missing) > 5 else [])
