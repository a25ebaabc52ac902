"""The Pages port over the standard library's http.server: the e-board's kiosk page and the technician's status page.

Two listeners, each a threading HTTP server on its own thread, with the limits of agent.adapters.web.http_guard
(connections capped, a deadline per request, a strict Content-Length):
- kiosk (e-boards only): 127.0.0.1 only, every path under /kiosk/<per-boot token>/ (anything else is 404), for the
  board's own browser; it serves the page, its state (what the board shows), the verified image or video being
  shown (agent.adapters.web.kiosk_media), and takes the reports of the page's video player.
- status (when configured): behind a login with the unit's password (scrypt hash from provisioning), a session
  cookie (HttpOnly, SameSite=Strict), a CSRF token in every form, and a brake on failed logins (agent.adapters.web.auth).
Handlers never touch the core: they read the last view the runtime published (one reference, swapped whole) and
hand technician actions (LocalAction) and the kiosk's player reports (PlayerEvent) to the runtime loop through `post`.
http.server is enough for two small pages on localhost or a technician's LAN and adds nothing to the unit's image.
Must not import the core's desks, the runtime, or any other adapter.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from importlib import resources
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from agent import i18n
from agent.adapters.web import kiosk_media, render
from agent.adapters.web.auth import Logins
from agent.adapters.web.http_guard import GuardedServer, body_length, reader, same
from agent.adapters.web.http_replies import CSP, MAX_BODY, HardenedHandler
from agent.core.events import Event, LocalAction

log = logging.getLogger("loa.web")
Post = Callable[[Callable[[int], Event]], None]
SESSION_COOKIE, LANG_COOKIE = "loa_session", "loa_lang"
# A live stream comes from the host the signed command names (already judged by the unit's source policy).
KIOSK_CSP = CSP + "; media-src 'self' http: https:"
ACTIONS = ("test_tone", "relay_test")


@dataclass(frozen=True)
class PageSettings:
    device_id: str
    timezone: str
    language: str
    status_addr: tuple[str, int] | None = None  # None: no status page
    password_hash: str = ""
    session_s: float = 1800.0
    kiosk_port: int | None = None  # None: no kiosk (a cluster); 0: any free port
    kiosk_token: str = ""
    commune: str = ""  # shown on the kiosk's idle page


def static(name: str) -> bytes:
    return resources.files("agent.adapters.web").joinpath(name).read_bytes()


class PageServer:
    def __init__(self, settings: PageSettings, post: Post) -> None:
        self.s, self.post = settings, post
        self.tz = ZoneInfo(settings.timezone)
        self.view: dict[str, Any] = {}
        self.logins = Logins(settings.password_hash, settings.session_s)
        self._servers: list[_Server] = []
        try:
            if settings.kiosk_port is not None:
                self.kiosk = self._serve(("127.0.0.1", settings.kiosk_port), KioskHandler)
            if settings.status_addr is not None:
                self.status = self._serve(settings.status_addr, StatusHandler)
        except OSError:
            self.close()  # nothing half-started
            raise

    def _serve(self, addr: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> _Server:
        server_class = _Server6 if ":" in addr[0] else _Server
        server = server_class(addr, handler)
        server.pages = self
        threading.Thread(target=server.serve_forever, name=f"http-{addr[1]}", daemon=True).start()
        self._servers.append(server)
        return server

    @property
    def kiosk_url(self) -> str:
        return f"http://127.0.0.1:{self.kiosk.server_address[1]}/kiosk/{self.s.kiosk_token}/"

    @property
    def status_port(self) -> int:
        return int(self.status.server_address[1])

    def publish(self, view: dict[str, Any]) -> None:
        self.view = view  # one reference swapped whole: handler threads only ever read a complete view

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()


class _Server(GuardedServer):
    pages: PageServer


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(HardenedHandler):
    server: _Server
    replied = False

    def setup(self) -> None:
        super().setup()
        self.rfile = reader(self.connection, self.server.request_s)  # the whole request must arrive within one deadline

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (TimeoutError, ConnectionError):
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - a request nobody foresaw: a 400 and a log line, never a traceback
            log.warning("page request from %s refused: %s: %s", self.client_address[0], type(exc).__name__, exc)
            self.close_connection = True
            if not self.replied:
                self.reply(HTTPStatus.BAD_REQUEST, b"bad request\n", "text/plain")

    def send_response(self, code: int, message: str | None = None) -> None:
        self.replied = True
        super().send_response(code, message)

    @property
    def pages(self) -> PageServer:
        return self.server.pages

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.client_address[0], format % args)


    def not_found(self) -> None:
        self.reply(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")


# ---- the kiosk page ------------------------------------------------------------------------------------------------


KIOSK_FILES = {"": ("kiosk.html", "text/html; charset=utf-8"), "kiosk.css": ("kiosk.css", "text/css; charset=utf-8"),
               "kiosk.js": ("kiosk.js", "text/javascript; charset=utf-8")}


class KioskHandler(_Handler):

    def do_GET(self) -> None:
        parts = urlsplit(self.path).path.split("/")
        if len(parts) < 3 or parts[1] != "kiosk" or not same(parts[2], self.pages.s.kiosk_token):
            self.not_found()
        elif len(parts) == 3:
            self.redirect(f"/kiosk/{parts[2]}/")
        else:
            self.route("/".join(parts[3:]))

    do_HEAD = do_GET

    def do_POST(self) -> None:
        """The page's player reports on the video on screen (`report`); nothing else is ever posted."""
        parts = urlsplit(self.path).path.split("/")
        length = body_length(self.headers, MAX_BODY)
        if len(parts) != 4 or parts[1] != "kiosk" or not same(parts[2], self.pages.s.kiosk_token) \
                or parts[3] != "report" or length is None:
            self.close_connection = True
            self.not_found()
            return
        event = kiosk_media.report_event(self.rfile.read(length), self.pages.view)
        if event is not None:
            self.pages.post(event)
        self.reply(HTTPStatus.NO_CONTENT if event else HTTPStatus.CONFLICT, b"", "text/plain")

    def reply(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        super().reply(status, body, ctype, {"Content-Security-Policy": KIOSK_CSP, **(headers or {})})

    def route(self, rest: str) -> None:
        kind, _, sha256 = rest.partition("/")
        if rest in KIOSK_FILES:
            name, ctype = KIOSK_FILES[rest]
            self.reply(HTTPStatus.OK, static(name), ctype)
        elif rest == "state":
            self.reply(HTTPStatus.OK, json.dumps(self.state(), ensure_ascii=False).encode(), "application/json")
        elif kind in ("image", "video"):
            self.media(kind, sha256)
        else:
            self.not_found()

    def state(self) -> dict[str, Any]:
        board = self.pages.view.get("board") or {}
        shown = board.get("showing")
        if shown is not None:
            image, video = shown.get("image"), shown.get("video")
            shown = {**shown, "image": f"image/{image['sha256']}" if image else None,
                     "video": {"url": f"video/{video['sha256']}", "loop": video["loop"]} if video else None}
        s = self.pages.s
        return {"dev": s.device_id, "tz": s.timezone, "commune": s.commune, "showing": shown}

    def media(self, kind: str, sha256: str) -> None:
        """Only the verified file of the bulletin shown now, and only of its kind; a video in byte ranges."""
        path = kiosk_media.shown_file(self.pages.view, kind, sha256, same)
        try:
            if path is None:
                raise FileNotFoundError(sha256)
            with path.open("rb") as f:
                ctype = kiosk_media.content_type(f.read(16)) or ""
                if not ctype.startswith(kind + "/"):
                    self.reply(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"not a supported {kind}\n".encode(), "text/plain")
                else:
                    self.send_file(f, ctype, os.fstat(f.fileno()).st_size)
        except OSError:
            if self.replied:
                raise  # the browser went away or stalled mid-file: the request ends there
            self.not_found()

    def send_file(self, f: BinaryIO, ctype: str, size: int) -> None:
        span = kiosk_media.byte_range(self.headers.get("Range"), size)
        if span is None:
            self.reply(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b"", "text/plain",
                       {"Content-Range": f"bytes */{size}"})
            return
        start, end = span
        ranged = {"Content-Range": f"bytes {start}-{end}/{size}"} if self.headers.get("Range") else {}
        self.send_response(HTTPStatus.PARTIAL_CONTENT if ranged else HTTPStatus.OK)
        for name, value in {"Content-Type": ctype, "Content-Length": str(end - start + 1), "Accept-Ranges": "bytes",
                            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **ranged}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            kiosk_media.copy_range(f, self.wfile.write, start, end)


# ---- the technician's status page ----------------------------------------------------------------------------------


class StatusHandler(_Handler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        lang, cookie = self.language(url.query)
        if url.path == "/static/status.css":
            self.reply(HTTPStatus.OK, static("status.css"), "text/css; charset=utf-8")
        elif url.path == "/login":
            self.html(HTTPStatus.OK, render.login_page(lang, self.pages.s.device_id), cookie)
        elif url.path == "/":
            self.status_page(lang, parse_qs(url.query), cookie)
        else:
            self.not_found()

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        form = self.form()
        if form is None:
            self.close_connection = True
            self.reply(HTTPStatus.BAD_REQUEST, b"bad request\n", "text/plain")
        elif url.path == "/login":
            self.login(form)
        elif url.path in ("/logout", "/action"):
            self.act(url.path, form)
        else:
            self.not_found()

    def language(self, query: str) -> tuple[str, dict[str, str]]:
        asked = parse_qs(query).get("lang", [""])[0]
        if asked in i18n.LANGUAGES:
            return asked, {"Set-Cookie": f"{LANG_COOKIE}={asked}; Path=/; SameSite=Strict"}
        saved = self.cookie(LANG_COOKIE)
        return (saved if saved in i18n.LANGUAGES else self.pages.s.language), {}


    def status_page(self, lang: str, query: dict[str, list[str]], headers: dict[str, str]) -> None:
        session = self.pages.logins.session(self.cookie(SESSION_COOKIE), time.monotonic())
        if session is None:
            self.html(HTTPStatus.UNAUTHORIZED, render.login_page(lang, self.pages.s.device_id), headers)
            return
        done, zone = query.get("done", [""])[0], query.get("zone", ["0"])[0]
        flash = i18n.render(lang, f"web_done_{done}", {"zone": zone}) if done in ACTIONS else ""
        page = render.status_page(lang, self.pages.s.device_id, self.pages.view, self.pages.tz, session.csrf, flash)
        self.html(HTTPStatus.OK, page, headers)

    def login(self, form: dict[str, str]) -> None:
        lang, _ = self.language("")
        now, address = time.monotonic(), self.client_address[0]
        wait = self.pages.logins.wait_s(address, now)
        sid = None if wait else self.pages.logins.login(address, form.get("password", ""), now)
        if sid is not None:
            self.redirect("/", {"Set-Cookie": f"{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Strict"})
            log.info("status page: technician logged in from %s", address)
            return
        log.warning("status page: refused login from %s", address)
        wait = self.pages.logins.wait_s(address, now)
        if wait:
            text = i18n.render(lang, "web_login_throttled", {"wait_s": int(wait) + 1})
            page = render.login_page(lang, self.pages.s.device_id, text)
            self.html(HTTPStatus.TOO_MANY_REQUESTS, page, {"Retry-After": str(int(wait) + 1)})
            return
        page = render.login_page(lang, self.pages.s.device_id, i18n.render(lang, "web_login_wrong", {}))
        self.html(HTTPStatus.UNAUTHORIZED, page)

    def act(self, path: str, form: dict[str, str]) -> None:
        sid = self.cookie(SESSION_COOKIE)
        session = self.pages.logins.session(sid, time.monotonic())
        if session is None or not same(form.get("csrf", ""), session.csrf):
            lang, _ = self.language("")
            self.html(HTTPStatus.FORBIDDEN, render.login_page(lang, self.pages.s.device_id,
                                                              i18n.render(lang, "web_bad_request", {})))
        elif path == "/logout":
            self.pages.logins.logout(sid)
            self.redirect("/login", {"Set-Cookie": f"{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"})
        else:
            self.action(form)

    def action(self, form: dict[str, str]) -> None:
        action, zone = form.get("action", ""), form.get("zone", "0")
        if action not in ACTIONS or not (zone.isascii() and zone.isdigit()) or len(zone) > 3:
            self.reply(HTTPStatus.BAD_REQUEST, b"unknown action\n", "text/plain")
            return
        self.pages.post(partial(_local_action, action, int(zone)))
        log.info("status page: %s requested (zone %s)", action, zone)
        self.redirect(f"/?done={action}&zone={int(zone)}")


def _local_action(action: str, zone: int, now: int) -> LocalAction:
    return LocalAction(now, action, zone)
