"""A tiny HTTP server on 127.0.0.1 serving bulletins from memory (for the demo and benchmarks).

Must not import the agent's runtime or adapters.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class BulletinServer:
    """Serves {name: bytes} at http://127.0.0.1:PORT/<name>, in a background thread."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        served = files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = served.get(self.path.lstrip("/"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
