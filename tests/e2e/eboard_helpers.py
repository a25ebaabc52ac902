"""Helpers for the e-board tests: an e-board unit, its kiosk URL, and a console watch that sees its display logs
and snapshots."""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Callable
from typing import Any

from province.console import Console
from tests.conftest import Unit, wait_until
from tests.e2e.link_helpers import UnitWatch

BOARD = {"kiosk_width": 1280, "kiosk_height": 720}


def eboard_unit(make_unit: Callable[..., Unit], start: bool = True, **sections: Any) -> Unit:
    web = BOARD | sections.pop("web", {})
    device = {"role": "eboard"} | sections.pop("device", {})
    return make_unit(device=device, web=web, start=start, **sections)


def kiosk_url(unit: Unit, timeout: float = 15) -> str:
    path = unit.dir / "state" / "kiosk.url"
    assert wait_until(path.exists, timeout), unit.output()
    return path.read_text().strip()


def watch_board(console: Console, unit: Unit) -> UnitWatch:
    watch = UnitWatch(console, unit)
    console.subscribe(*(console.topics.report(unit.device_id, k) for k in ("displaylog", "display", "playlog")))
    watch.wait_online()
    return watch


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain-colour PNG made with the standard library only."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def image_source(server: Any, name: str, body: bytes) -> dict[str, str]:
    server.routes.files[name] = body
    return {"url": server.url(f"/files/{name}"), "sha256": hashlib.sha256(body).hexdigest()}

