"""Streams reach libVLC only through this gate: the unit's source policy first, then a loopback relay.

Choice: a checked reader, not a resolved-and-pinned URL. libVLC follows redirects on its own (a 302 to file://
plays a local file) and has no public option to stop it, so even a pinned final URL could be redirected on
libVLC's own request. So libVLC is only ever given http://127.0.0.1:<port>/<token>/<path>, served by the relay
below, which never answers with a redirect: it fetches the upstream through checked_http (every redirect hop judged
by agent.core.sources) and copies the bytes. Paths under a token (HLS segments) map to that upstream's origin, and
absolute URIs in an HLS playlist are checked and rewritten to relay URLs. A refused source or redirect ends the play
`failed` with `source_refused` / `redirect_refused`; local files pass straight through.
Imports only the standard library and agent code; never vlc (the inner player is the libVLC adapter).
"""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.client import HTTPException
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from agent import ports as sp
from agent.adapters.audio.checked_http import Deadline, Opened, open_checked
from agent.core.sources import SourcePolicy
from agent.errors import LoaError, SourceRefused

_PASSED_HEADERS = ("content-type", "content-length", "content-range", "accept-ranges", "icy-name", "icy-metaint",
                   "icy-br", "icy-genre", "icy-description")
_PLAYLIST_MAX = 1 << 20
_ABSOLUTE = re.compile(r"https?://[^\s\"]+", re.IGNORECASE)
_FOREVER_S = 10.0 * 365 * 86400  # a live stream has no overall deadline; its reads have timeout_s each


@dataclass
class _Route:
    origin: str  # scheme://host[:port] of the upstream
    play: str  # the play it belongs to: every route of a play goes when the play ends
    first: Opened | None = None  # the checked response opened before libVLC was told, served to its first request
    refused: list[str] = field(default_factory=list)  # codes of refusals met while relaying


class _Relay(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, policy: SourcePolicy, timeout_s: float) -> None:
        super().__init__(("127.0.0.1", 0), _RelayHandler)
        self.policy, self.timeout_s = policy, timeout_s
        self.routes: dict[str, _Route] = {}
        threading.Thread(target=self.serve_forever, args=(0.2,), name="stream-relay", daemon=True).start()

    def add(self, origin: str, play: str, first: Opened | None = None) -> str:
        token = secrets.token_urlsafe(16)
        self.routes[token] = _Route(origin, play, first)
        return token

    def url(self, token: str, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{token}{path}"

    def refusals(self, play: str) -> list[str]:
        return [code for r in list(self.routes.values()) if r.play == play for code in r.refused]

    def drop(self, play: str) -> None:
        for token, route in list(self.routes.items()):
            if route.play == play:
                self.routes.pop(token, None)
                if route.first is not None:
                    route.first.close()


class _RelayHandler(BaseHTTPRequestHandler):
    server: _Relay

    def log_message(self, format: str, *args: object) -> None:
        pass  # libVLC's requests are not worth a log line each

    def do_GET(self) -> None:
        token, _, rest = self.path.lstrip("/").partition("/")
        route = self.server.routes.get(token)
        if route is None:
            self.send_error(404)
            return
        try:
            upstream = self._open(route, "/" + rest)
        except LoaError as exc:
            route.refused.append(exc.code)
            self.send_error(403, str(exc))
            return
        except (OSError, HTTPException):
            self.send_error(502)
            return
        with contextlib.closing(upstream):
            self._relay(route, upstream)

    def _open(self, route: _Route, path: str) -> Opened:
        first, route.first = route.first, None
        wanted = self.headers.get("Range")
        if first is not None and (not wanted or wanted.strip() == "bytes=0-"):
            return first  # the response checked before libVLC was told, from its first byte
        if first is not None:
            first.close()
        headers = {"Range": self.headers["Range"]} if self.headers.get("Range") else {}
        return open_checked(route.origin + path, self.server.policy, stream=True,
                            deadline=Deadline.after(self.server.timeout_s), per_read_s=self.server.timeout_s,
                            headers=headers)

    def _relay(self, route: _Route, upstream: Opened) -> None:
        resp = upstream.response
        kind = (resp.getheader("Content-Type") or "").lower()
        if "mpegurl" in kind or urlsplit(upstream.url).path.lower().endswith(".m3u8"):
            self._send_playlist(route, upstream)
            return
        self._head(resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() in _PASSED_HEADERS])
        deadline = Deadline.after(_FOREVER_S)
        with contextlib.suppress(OSError, HTTPException):  # either side went away: libVLC decides what follows
            while block := upstream.read(64 * 1024, deadline, self.server.timeout_s):
                self.wfile.write(block)

    def _send_playlist(self, route: _Route, upstream: Opened) -> None:
        body = upstream.response.read(_PLAYLIST_MAX).decode("utf-8", "replace")
        try:
            text = _ABSOLUTE.sub(lambda m: self._rewrite(route, m.group(0)), body)
        except SourceRefused as exc:
            route.refused.append(exc.code)
            self.send_error(403, str(exc))
            return
        data = text.encode("utf-8")
        self._head(upstream.response.status, [("Content-Type", "application/vnd.apple.mpegurl"),
                                              ("Content-Length", str(len(data)))])
        self.wfile.write(data)

    def _rewrite(self, route: _Route, url: str) -> str:
        why = self.server.policy.refusal(url, stream=True)
        if why:
            raise SourceRefused(f"the playlist names a refused source: {why}")
        parts = urlsplit(url)
        token = self.server.add(f"{parts.scheme}://{parts.netloc}", route.play)
        return self.server.url(token, (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))

    def _head(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()


class StreamGate:
    """Player port around the libVLC player: URLs are checked and relayed, local files pass straight through."""

    def __init__(self, inner: sp.Player, policy: SourcePolicy, *, timeout_s: float = 10.0) -> None:
        self.inner, self.policy, self._timeout_s = inner, policy, timeout_s
        self._relay = _Relay(policy, timeout_s)
        self._lock = threading.Lock()  # play/stop come from the loop, checks finish on their own threads
        self._checking: tuple[str, sp.PlayEventCallback] | None = None
        self._handed: str | None = None  # the last play given to the inner player

    def play(self, play_id: str, source: str, *, volume_pct: int, on_event: sp.PlayEventCallback) -> None:
        self._supersede()
        scheme = urlsplit(source).scheme.lower()
        if not scheme:  # a local file the preparer made (verified download or speech)
            self._hand(play_id, source, volume_pct, on_event)
            return
        if scheme not in ("http", "https"):  # file:, rtsp:, mms:...: never handed to libVLC
            on_event(play_id, sp.FAILED, SourceRefused.code)
            return
        with self._lock:
            self._checking = (play_id, on_event)
            if self._handed is not None:
                self.inner.stop(self._handed)  # the current play stops first, as the port says
        threading.Thread(target=self._check, args=(play_id, source, volume_pct, on_event),
                         name="stream-check", daemon=True).start()

    def stop(self, play_id: str) -> None:
        with self._lock:
            checking = self._checking
            if checking is not None and checking[0] == play_id:
                self._checking = None
        if checking is not None and checking[0] == play_id:
            checking[1](play_id, sp.STOPPED, "")
        else:
            self.inner.stop(play_id)

    def set_volume(self, pct: int) -> None:
        self.inner.set_volume(pct)

    def close(self) -> None:
        self._supersede()
        self.inner.close()
        self._relay.shutdown()
        self._relay.server_close()

    def _supersede(self) -> None:
        with self._lock:
            checking, self._checking = self._checking, None
        if checking is not None:
            checking[1](checking[0], sp.STOPPED, "")

    def _check(self, play_id: str, url: str, volume_pct: int, on_event: sp.PlayEventCallback) -> None:
        """Open the source under the policy before libVLC hears of it; a dead link is left to the player's retries."""
        first: Opened | None = None
        try:
            first = open_checked(url, self.policy, stream=True, deadline=Deadline.after(self._timeout_s),
                                 per_read_s=self._timeout_s)
        except LoaError as exc:
            if self._still_checking(play_id):
                on_event(play_id, sp.FAILED, exc.code)
            return
        except (OSError, HTTPException):
            pass
        parts = urlsplit(first.url if first else url)
        token = self._relay.add(f"{parts.scheme}://{parts.netloc}", play_id, first)
        if not self._still_checking(play_id):
            self._relay.drop(play_id)
            return
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._hand(play_id, self._relay.url(token, path), volume_pct, on_event)

    def _still_checking(self, play_id: str) -> bool:
        with self._lock:
            if self._checking is None or self._checking[0] != play_id:
                return False
            self._checking = None
            return True

    def _hand(self, play_id: str, media: str, volume_pct: int, on_event: sp.PlayEventCallback) -> None:
        def seen(pid: str, kind: str, detail: str) -> None:
            if kind == sp.FAILED and (refused := self._relay.refusals(pid)):
                detail = refused[-1]  # libVLC saw a 403 from the relay: say why
            if kind in sp.TERMINAL_KINDS:
                self._relay.drop(pid)
            on_event(pid, kind, detail)

        with self._lock:
            self._handed = play_id
        self.inner.play(play_id, media, volume_pct=volume_pct, on_event=seen)
