"""A tiny real HTTP server for the sound-adapter tests: Range-capable files, cut connections, endless streams.

Runs in a thread (tests that assert on the requests it saw) or as its own process
(`python audio_http_server.py --live NAME=PATH`), so a test can kill it with SIGKILL mid-stream.
Imports only the standard library.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d+)-$")


@dataclass
class Routes:
    """What the server serves. `cuts` maps a file name to how many bytes to send before dropping the link."""

    files: dict[str, bytes] = field(default_factory=dict)
    live: dict[str, bytes] = field(default_factory=dict)
    live_bytes_per_s: int = 16_000
    cuts: dict[str, list[int]] = field(default_factory=dict)
    ignore_range: bool = False
    slow_bytes_per_s: int = 0
    seen: list[tuple[str, str | None]] = field(default_factory=list)
    redirects: dict[str, str] = field(default_factory=dict)  # /redirect/NAME answers 302 to this Location


class _Handler(BaseHTTPRequestHandler):
    server: AudioHttpServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        routes = self.server.routes
        routes.seen.append((self.path, self.headers.get("Range")))
        kind, _, name = self.path.lstrip("/").partition("/")
        if kind == "files" and name in routes.files:
            self._send_file(name, routes.files[name])
        elif kind == "live" and name in routes.live:
            self._send_live(routes.live[name])
        elif kind == "redirect" and name in routes.redirects:
            self.send_response(302)
            self.send_header("Location", routes.redirects[name])
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_error(404)

    def _send_file(self, name: str, body: bytes) -> None:
        start = self._range_start()
        if start is not None and start >= len(body):
            self.send_error(416)
            return
        self._file_headers(body, start)
        part = body[start or 0 :]
        cuts = self.server.routes.cuts.get(name)
        if cuts:
            part = part[: cuts.pop(0)]  # drop the link mid-file, as a 4G link does
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client went away
            self._write_paced(part)

    def _range_start(self) -> int | None:
        if self.server.routes.ignore_range:
            return None
        match = _RANGE.match(self.headers.get("Range", ""))
        return int(match.group(1)) if match else None

    def _file_headers(self, body: bytes, start: int | None) -> None:
        self.send_response(206 if start is not None else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body) - (start or 0)))
        if start is not None:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.end_headers()

    def _write_paced(self, data: bytes) -> None:
        rate = self.server.routes.slow_bytes_per_s
        step = max(1, rate // 10) if rate else len(data) or 1
        for i in range(0, len(data), step):
            self.wfile.write(data[i : i + step])
            self.wfile.flush()
            if rate:
                time.sleep(0.1)

    def _send_live(self, loop: bytes) -> None:
        """An Icecast-like endless MP3: no length, ICY headers, paced at the stream's bitrate."""
        self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("icy-name", "Loa test radio")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        try:
            self._stream_forever(loop, self.server.routes.live_bytes_per_s)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the player went away

    def _stream_forever(self, loop: bytes, rate: int) -> None:
        """Send at the bitrate on an absolute schedule, after a one-second burst as Icecast does on connect."""
        sent, t0 = 0, time.monotonic()
        while not self.server.stopping.is_set():
            due = rate + int(rate * (time.monotonic() - t0)) - sent
            offset = sent % len(loop)
            data = (loop[offset:] + loop * (1 + due // len(loop)))[:due]
            self.wfile.write(data)
            self.wfile.flush()
            sent += len(data)
            time.sleep(0.05)


class AudioHttpServer(ThreadingHTTPServer):
    """The server itself; `url(path)` builds addresses on 127.0.0.1."""

    daemon_threads = True

    def __init__(self, routes: Routes, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.routes = routes
        self.stopping = threading.Event()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def start(self) -> AudioHttpServer:
        threading.Thread(target=self.serve_forever, args=(0.05,), name="test-http", daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


def main(argv: list[str]) -> None:
    """Serve `--live NAME=PATH` / `--file NAME=PATH` until killed; prints the port on the first line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--live", action="append", default=[])
    parser.add_argument("--file", action="append", default=[])
    parser.add_argument("--rate", type=int, default=16_000)
    parser.add_argument("--slow", type=int, default=0)
    args = parser.parse_args(argv)
    routes = Routes(live_bytes_per_s=args.rate, slow_bytes_per_s=args.slow)
    for spec, table in ((args.live, routes.live), (args.file, routes.files)):
        for item in spec:
            name, _, path = item.partition("=")
            table[name] = Path(path).read_bytes()
    server = AudioHttpServer(routes)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
