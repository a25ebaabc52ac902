"""`loa send snapshot --save FILE`: the image an e-board's snapshot report carries (base64 JPEG, protocol 5.8),
written to a file. Must not import the agent's runtime or adapters."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from province.console import Console, json_object

_IMAGES: dict[str, bytes] = {}  # jti -> image, kept by `keep` while the acks are followed (one command per run)
ALONE_S = 20.0  # without --wait: the board renders its page first
GRACE_S = 3.0  # the report may come just after the `finished` ack: it travels through the unit's outbox


def keep(dev: str, kind: str, report: dict[str, Any]) -> None:
    if kind == "display" and report.get("kind") == "snapshot":
        try:
            _IMAGES[str(report.get("jti"))] = base64.b64decode(str(report.get("data", "")), validate=True)
        except (binascii.Error, ValueError):
            return


def saved(console: Console, jti: str, out: Path, say: Callable[..., None], wait_s: float = GRACE_S) -> int:
    """Writes the snapshot to `out` (waiting up to wait_s for a report not seen yet); 0 when saved, 1 when none came."""
    for topic, payload, _ in [] if jti in _IMAGES else console.messages(time.monotonic() + wait_s):
        where = console.topics.device_of(topic)
        if where:
            keep(where[0], where[1], json_object(payload))
        if jti in _IMAGES:
            break
    image = _IMAGES.pop(jti, None)
    if image is None:
        say("snapshot_none", jti=jti)
        return 1
    out.write_bytes(image)
    say("snapshot_saved", path=str(out), size=len(image))
    return 0
