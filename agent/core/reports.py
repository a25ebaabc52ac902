"""Report payloads (ack, status, heartbeat, event) as compact JSON bytes, shaped by docs/protocol/*.json.

Must not import adapters.
"""

from __future__ import annotations

import json
from typing import Any

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # json.dumps would build one per call


def encode(obj: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON: Vietnamese text stays readable and small (no \\u escapes)."""
    return _ENCODER.encode(obj).encode()


def ack(dev: str, jti: str | None, cmd: str | None, state: str, code: str, msg: str, ts: int) -> bytes:
    return encode({"dev": dev, "jti": jti, "cmd": cmd, "state": state, "code": code, "msg": msg, "ts": ts})


def heartbeat(ts: int, up_s: int, outbox: int, relays: dict[int, bool], signal_dbm: Any = None,
              extra: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"ts": ts, "up": up_s, "ob": outbox, **(extra or {})}
    if signal_dbm is not None:
        body["sig"] = signal_dbm
    on = [z for z, state in sorted(relays.items()) if state]
    if on:
        body["on"] = on
    return encode(body)


def event(dev: str, name: str, ts: int, **detail: Any) -> bytes:
    body: dict[str, Any] = {"dev": dev, "event": name, "ts": ts}
    if detail:
        body["detail"] = detail
    return encode(body)
