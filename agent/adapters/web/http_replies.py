"""What every Loa page server answers with and reads the same way: hardened replies (no caching, no sniffing, no
framing, one strict content policy), redirects, cookies and small urlencoded forms. Shared by the unit's status and
kiosk pages and by the province's `loa dashboard`. Imports only the standard library and http_guard.
"""

from __future__ import annotations

from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

from agent.adapters.web.http_guard import body_length

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
MAX_BODY = 4096  # a login or a settings form; anything larger is refused before a byte is read


class HardenedHandler(BaseHTTPRequestHandler):
    timeout = 10  # seconds a connection may sit idle: a stalled client cannot hold a thread for long
    server_version = "loa"
    sys_version = ""

    def reply(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": ctype, "Content-Length": str(len(body)), "Cache-Control": "no-store",
                            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                            "X-Frame-Options": "DENY", "Content-Security-Policy": CSP, **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def html(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        self.reply(status, text.encode(), "text/html; charset=utf-8", headers)

    def redirect(self, where: str, headers: dict[str, str] | None = None) -> None:
        self.reply(HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": where, **(headers or {})})

    def cookie(self, name: str) -> str:
        jar = SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except CookieError:  # a malformed Cookie header is no cookie at all
            return ""
        return jar[name].value if name in jar else ""

    def form(self) -> dict[str, str] | None:
        """The urlencoded form; None when its length is not plainly 0..MAX_BODY (refused before reading a byte) or
        the body is shorter than announced."""
        length = body_length(self.headers, MAX_BODY)
        if length is None:
            return None
        body = self.rfile.read(length)
        if len(body) != length:
            return None
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in fields.items()}
