"""A tiny HTTP server on 127.0.0.1 serving bulletins from memory (for the demo and benchmarks).

Must not import the agent's runtime or adapters.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class BulletinServer:
    """Serves {name: bytes} at http://127.0.0.1:PORT/<name>, in a background thread; with `bytes_per_s`, each body
    trickles out at that rate in tenth-of-a-second steps (a slow 4G link or a busy HTTTN)."""

    def __init__(self, files: dict[str, bytes], *, bytes_per_s: int | None = None) -> None:
        self.files = files
        served = files
        step = bytes_per_s // 10 if bytes_per_s else 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = served.get(self.path.lstrip("/"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not step:
                    self.wfile.write(body)
                    return
                for i in range(0, len(body), step):
                    self.wfile.write(body[i : i + step])
                    self.wfile.flush()
                    time.sleep(0.1)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
