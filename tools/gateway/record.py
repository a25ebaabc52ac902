"""`--record FILE`: every request and reply exchanged with the HTTTN, one JSON line each, secrets masked, so a pilot
calibrates the profile against the real thing. Must not import the HTTP client."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

MASK = "***"


class Recorder:
    def __init__(self, path: Path, secret_fields: tuple[str, ...]) -> None:
        """secret_fields: dotted body paths whose values are masked (the password, the token in the reply)."""
        self._out = path.open("a", encoding="utf-8")
        self._secrets = secret_fields
        self._lock = threading.Lock()

    def exchange(self, method: str, url: str, headers: dict[str, str], request: Any, status: int | None,
                 reply: Any) -> None:
        line = {"ts_ms": int(time.time() * 1000), "method": method, "url": url,
                "headers": {k: (MASK if k.lower() == "authorization" else v) for k, v in headers.items()},
                "request": self._masked(request), "status": status, "reply": self._masked(reply)}
        with self._lock:
            self._out.write(json.dumps(line, ensure_ascii=False) + "\n")
            self._out.flush()

    def _masked(self, body: Any) -> Any:
        if not isinstance(body, dict):
            return body
        body = json.loads(json.dumps(body))
        for path in self._secrets:
            _mask(body, path.split("."))
        return body

    def close(self) -> None:
        with self._lock:
            self._out.close()


def _mask(body: dict[str, Any], path: list[str]) -> None:
    for step in path[:-1]:
        inner = body.get(step)
        body = inner if isinstance(inner, dict) else {}
    if path[-1] in body:
        body[path[-1]] = MASK
