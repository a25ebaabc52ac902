"""Helpers for the e-board video tests: short test clips made with ffmpeg (VP8 in WebM, which Debian's Chromium
plays without proprietary codecs), an endless live WebM stream served over HTTP from ffmpeg's test pattern, and a
hash of the frame a <video> element shows now (drawn into a canvas by the page itself)."""

from __future__ import annotations

import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.e2e.browser import Browser

FFMPEG = "/usr/bin/ffmpeg"
PATTERN = "testsrc=size=160x120:rate=10"  # a moving pattern with a frame counter: every frame differs
VP8 = ("-c:v", "libvpx", "-b:v", "200k", "-deadline", "realtime", "-cpu-used", "8")
QUIET = (FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin")


def make_clip(path: Path, seconds: float) -> bytes:
    subprocess.run([*QUIET, "-y", "-f", "lavfi", "-i", f"{PATTERN}:duration={seconds}", *VP8, str(path)],
                   check=True, timeout=60)
    return path.read_bytes()


class LiveStream(ThreadingHTTPServer):
    """GET /live/<anything>: an endless WebM stream at real time, one ffmpeg per viewer, killed when it leaves."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _LiveHandler)
        self.viewers: list[subprocess.Popen[bytes]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, args=(0.05,), name="live-video", daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        with self.lock:
            for proc in self.viewers:
                proc.kill()
                proc.wait()


class _LiveHandler(BaseHTTPRequestHandler):
    server: LiveStream
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if not self.path.startswith("/live/"):
            self.send_error(404)
            return
        # a key frame every second and short clusters, so a viewer has a picture within a second, as a live
        # encoder set up for low latency gives
        argv = [*QUIET, "-re", "-f", "lavfi", "-i", PATTERN, *VP8, "-g", "10", "-f", "webm", "-live", "1",
                "-cluster_time_limit", "500", "pipe:1"]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
        with self.server.lock:
            self.server.viewers.append(proc)
        self.send_response(200)
        self.send_header("Content-Type", "video/webm")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        try:
            assert proc.stdout is not None
            while data := os.read(proc.stdout.fileno(), 16384):  # what ffmpeg has made so far, at its pace
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the viewer went away
        finally:
            proc.kill()
            proc.wait()


FRAME_JS = """
const v = document.getElementById(arguments[0]);
if (!v || v.readyState < 2 || !v.videoWidth) return null;
const c = document.createElement('canvas');
c.width = v.videoWidth; c.height = v.videoHeight;
const g = c.getContext('2d');
g.drawImage(v, 0, 0);
let d;
try { d = g.getImageData(0, 0, c.width, c.height).data; } catch (e) { return [v.currentTime, -1]; }
let h = 2166136261;
for (let i = 0; i < d.length; i += 4) { h = Math.imul(h ^ d[i] ^ (d[i + 1] << 8) ^ (d[i + 2] << 16), 16777619); }
return [v.currentTime, h >>> 0];
"""


def frame(browser: Browser, element_id: str = "video") -> tuple[float, int] | None:
    """(currentTime, hash of the pixels) of the frame the element shows now, or None before it has one. The hash is
    -1 for a stream from another origin (the browser keeps its pixels from the page: compare screenshots instead)."""
    got = browser.js(FRAME_JS, element_id)
    return None if got is None else (float(got[0]), int(got[1]))
