"""The dashboard's web server: a login (scrypt hash, session cookie HttpOnly/SameSite=Strict, a brake on failed
logins), then the page, its script and the fleet's view as JSON, which the page polls every second.

It reuses the unit's status-page machinery (agent.adapters.web: auth, passwords, http_guard): capped connections,
a deadline per request, a strict Content-Length, constant-time comparisons. Nothing here changes the fleet: the
server has no way to send a command. TLS is optional (a certificate and key for the listener).
Must not import the MQTT client or the agent's runtime.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from agent.adapters.web.auth import Logins, Session
from agent.adapters.web.http_guard import GuardedServer, reader, same
from agent.adapters.web.http_replies import HardenedHandler
from tools.dashboard import page
from tools.dashboard.fleet import Fleet

log = logging.getLogger("loa.dashboard")
SESSION_COOKIE, LANG_COOKIE = "loa_dash_session", "loa_dash_lang"
STATIC = {"/static/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
          "/static/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8")}


@dataclass(frozen=True)
class WebSettings:
    password_hash: str
    bind: str = "127.0.0.1"
    port: int = 8088
    language: str = "vi"
    session_s: float = 8 * 3600.0  # a shift at the province's desk
    tls_cert: Path | None = None
    tls_key: Path | None = None


class Dashboard:
    """The listening server on its own thread; `fleet` is read, never written, by the page threads."""

    def __init__(self, settings: WebSettings, fleet: Fleet) -> None:
        self.settings, self.fleet = settings, fleet
        self.logins = Logins(settings.password_hash, settings.session_s)
        server_class = _Server6 if ":" in settings.bind else _Server
        self.server = server_class((settings.bind, settings.port), Handler)
        self.server.dashboard = self
        if settings.tls_cert is not None:
            self._tls(settings.tls_cert, settings.tls_key)
        threading.Thread(target=self.server.serve_forever, name="dashboard-http", daemon=True).start()

    def _tls(self, cert: Path, key: Path | None) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        # the handshake happens in the request's own thread (under its deadline), not in the accepting one
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True,
                                                 do_handshake_on_connect=False)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def secure(self) -> bool:
        return self.settings.tls_cert is not None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Server(GuardedServer):
    dashboard: Dashboard


class _Server6(_Server):
    address_family = socket.AF_INET6


class Handler(HardenedHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.rfile = reader(self.connection, self.server.request_s)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (TimeoutError, ConnectionError, ssl.SSLError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.client_address[0], format % args)

    @property
    def dash(self) -> Dashboard:
        return self.server.dashboard

    # ---- routes ----------------------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        lang, headers = self.language(url.query)
        if url.path in STATIC:
            name, ctype = STATIC[url.path]
            self.reply(HTTPStatus.OK, page.static(name), ctype)
        elif url.path == "/login":
            self.html(HTTPStatus.OK, page.login_page(lang), headers)
        elif (session := self.session()) is None:
            self.refuse(url.path, lang, headers)
        elif url.path == "/":
            self.html(HTTPStatus.OK, page.dashboard_page(lang, session.csrf), headers)
        elif url.path == "/api/state":
            self.state(parse_qs(url.query).get("since", [""])[0])
        else:
            self.reply(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        url, form = urlsplit(self.path), self.form()
        if form is None:
            self.close_connection = True
            self.reply(HTTPStatus.BAD_REQUEST, b"bad request\n", "text/plain")
        elif url.path == "/login":
            self.login(form)
        elif url.path == "/logout":
            self.logout(form)
        else:
            self.reply(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

    def state(self, since: str) -> None:
        """The fleet's view as JSON; 204 when the page already has this version (a province's view is large)."""
        fleet = self.dash.fleet
        body, version = fleet.view_json, fleet.version
        if since == str(version):
            self.reply(HTTPStatus.NO_CONTENT, b"", "application/json")
        else:
            self.reply(HTTPStatus.OK, body, "application/json; charset=utf-8")

    def refuse(self, path: str, lang: str, headers: dict[str, str]) -> None:
        """No session: no data. The page answers with the login form, the data endpoint with a bare 401."""
        if path == "/api/state":
            self.reply(HTTPStatus.UNAUTHORIZED, b'{"error":"login"}', "application/json")
        else:
            self.html(HTTPStatus.UNAUTHORIZED, page.login_page(lang), headers)

    def login(self, form: dict[str, str]) -> None:
        lang, _ = self.language("")
        now, address = time.monotonic(), self.client_address[0]
        logins = self.dash.logins
        sid = None if logins.wait_s(address, now) else logins.login(address, form.get("password", ""), now)
        if sid is not None:
            log.info("dashboard: login from %s", address)
            self.redirect("/", {"Set-Cookie": self.cookie_header(SESSION_COOKIE, sid, "HttpOnly")})
            return
        log.warning("dashboard: refused login from %s", address)
        if wait := logins.wait_s(address, now):
            message = page.text(lang, "dash_login_throttled", wait_s=int(wait) + 1)
            self.html(HTTPStatus.TOO_MANY_REQUESTS, page.login_page(lang, message), {"Retry-After": str(int(wait) + 1)})
        else:
            self.html(HTTPStatus.UNAUTHORIZED, page.login_page(lang, page.text(lang, "dash_login_wrong")))

    def logout(self, form: dict[str, str]) -> None:
        sid = self.cookie(SESSION_COOKIE)
        session = self.dash.logins.session(sid, time.monotonic())
        if session is None or not same(form.get("csrf", ""), session.csrf):
            self.reply(HTTPStatus.FORBIDDEN, b"forbidden\n", "text/plain")
            return
        self.dash.logins.logout(sid)
        self.redirect("/login", {"Set-Cookie": self.cookie_header(SESSION_COOKIE, "", "HttpOnly", "Max-Age=0")})

    # ---- helpers ---------------------------------------------------------------------------------------------------

    def session(self) -> Session | None:
        return self.dash.logins.session(self.cookie(SESSION_COOKIE), time.monotonic())

    def language(self, query: str) -> tuple[str, dict[str, str]]:
        asked = parse_qs(query).get("lang", [""])[0]
        lang = page.language(asked, self.cookie(LANG_COOKIE), self.headers.get("Accept-Language", ""),
                             self.dash.settings.language)
        return lang, ({"Set-Cookie": self.cookie_header(LANG_COOKIE, lang)} if asked == lang else {})

    def cookie_header(self, name: str, value: str, *flags: str) -> str:
        secure = ("Secure",) if self.dash.secure else ()
        return "; ".join((f"{name}={value}", "Path=/", "SameSite=Strict", *flags, *secure))

