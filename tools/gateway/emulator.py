"""`loa gateway emulate`: an HTTTN stand-in built from the same profile, for tests, demos and QA. It takes logins,
checks the bearer token on every call (a bad one gets the HTTTN's refusal shape), keeps pings and bulletin logs in
SQLite, and serves the province's indicator as JSON and as a read-only page. Given a gateway, it also sends the HTTTN's
calls to the gateway's inbound API (JSON at /emulator/send, a form on the page of that path). Must not import the
gateway's sender."""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tools.gateway import emulator_send
from tools.gateway.emulator_send import GatewayClient
from tools.gateway.emulator_store import Store
from tools.gateway.mapping import lookup
from tools.gateway.profile import Profile

JSON_PATHS = ("/emulator/indicator", "/emulator/clusters", "/emulator/logs")


class Emulator:
    def __init__(self, profile: Profile, users: dict[str, str], db: Path, port: int, host: str = "127.0.0.1",
                 gateway: GatewayClient | None = None) -> None:
        self.profile, self.users, self.store, self.gateway = profile, users, Store(db), gateway
        self.tokens: set[str] = set()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True

    def serve(self) -> None:
        self.server.serve_forever(poll_interval=0.2)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.store.close()

    # ---- the HTTTN's API, from the profile ------------------------------------------------------------------------

    def post(self, path: str, auth: str, body: Any) -> tuple[int, dict[str, Any]]:
        http = self.profile.http
        if path == http.login_path:
            return self._login(body)
        # a profile may log plays and displays on one path: the HTTTN then sees bulletin logs only
        kinds = {http.ping_path: "ping", http.display_log_path: "display_log", http.bulletin_log_path: "bulletin_log",
                 http.schedule_log_path: "schedule_log"}
        if path not in kinds:
            return 404, self._reply(1, f"không có API {path}")
        if not self._token_ok(auth):
            return 401, self._reply(1, "Token không hợp lệ hoặc đã hết hạn")
        if not isinstance(body, dict):
            return 400, self._reply(1, "Dữ liệu không hợp lệ")
        return self._take(kinds[path], body)

    def _login(self, body: Any) -> tuple[int, dict[str, Any]]:
        p = self.profile.login
        user = body.get(p.username_field) if isinstance(body, dict) else None
        if not isinstance(user, str) or self.users.get(user) != body.get(p.password_field):
            return 200, self._reply(1, "Sai tên đăng nhập hoặc mật khẩu")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens.add(token)
        self.store.login(user, _now_ms())
        reply = self._reply(0, "")
        _put(reply, p.token_field.split("."), token)
        return 200, reply

    def _token_ok(self, auth: str) -> bool:
        scheme, _, token = auth.partition(" ")
        with self._lock:
            return scheme == self.profile.login.scheme and token in self.tokens

    def revoke_tokens(self) -> None:
        """Every token expires at once (what a restarted or strict HTTTN does): callers must log in again."""
        with self._lock:
            self.tokens.clear()

    def _take(self, kind: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        e = self.profile.emulated
        if kind == "schedule_log":  # about a programme of areas, not one cluster
            self.store.log(kind, "", body, _now_ms())
            return 200, self._reply(0, "")
        cluster = lookup(body, e.cluster_field)
        if not isinstance(cluster, str) or not cluster:
            return 400, self._reply(1, f"thiếu {e.cluster_field}")
        if kind == "ping":
            self.store.ping(cluster, str(lookup(body, e.area_field) or ""), str(lookup(body, e.area_name_field) or ""),
                            body, _now_ms())
        else:
            self.store.log(kind, cluster, body, _now_ms())
        return 200, self._reply(0, "")

    def send(self, request: Any) -> tuple[int, dict[str, Any]]:
        """A call to the gateway: {"operation", "body", "operator"} -> {"status", "reply", "jtis"}."""
        if self.gateway is None:
            return 409, {"status": 0, "reply": "no gateway configured (--gateway-url)", "jtis": []}
        if not isinstance(request, dict) or not isinstance(request.get("operation"), str):
            return 400, {"status": 0, "reply": "expected {operation, body, operator}", "jtis": []}
        return 200, self.gateway.send(request["operation"], request.get("body"), str(request.get("operator") or ""))

    def _reply(self, status: int, reason: str) -> dict[str, Any]:
        return {self.profile.http.status_field: self.profile.http.ok_value if status == 0 else status,
                self.profile.http.reason_field: reason}

    # ---- what the province sees ------------------------------------------------------------------------------------

    def get(self, path: str) -> tuple[int, str, str]:
        """(status, content type, text) of a read-only view."""
        if path == "/":
            return 200, "text/html; charset=utf-8", page(self.view("/emulator/indicator"), self.store.logs(200))
        if path == emulator_send.SEND_PATH:
            return 200, "text/html; charset=utf-8", emulator_send.form(list(self.profile.api.paths))
        if path in JSON_PATHS:
            return 200, "application/json", json.dumps(self.view(path), ensure_ascii=False)
        return 404, "text/plain", "not found"

    def view(self, path: str) -> Any:
        if path == "/emulator/indicator":
            return {**self.store.indicator(_now_ms(), self.profile.emulated.connected_within_s * 1000),
                    "clusters": self.store.clusters(), "logins": self.store.logins()}
        return self.store.clusters() if path == "/emulator/clusters" else self.store.logs()


def _handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path == "/emulator/revoke-tokens":
                emulator.revoke_tokens()
                return self._send(200, "application/json", "{}")
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = None
            if self.path == emulator_send.SEND_PATH:
                status, reply = emulator.send(body)
            else:
                status, reply = emulator.post(self.path, self.headers.get("Authorization", ""), body)
            self._send(status, "application/json; charset=utf-8", json.dumps(reply, ensure_ascii=False))

        def do_GET(self) -> None:
            self._send(*emulator.get(self.path.split("?")[0]))

        def _send(self, status: int, kind: str, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: 82 pings a second would drown the terminal; the store keeps what matters."""

    return Handler


def page(indicator: dict[str, Any], logs: list[dict[str, Any]]) -> str:
    """The read-only page: the province's indicator, per commune, last pings and the bulletin logs."""
    esc = html.escape
    areas = "".join(f"<tr><td>{esc(str(a['name'] or a['area']))}</td><td>{a['connected']} / {a['total']}</td></tr>"
                    for a in indicator["areas"])
    clusters = "".join(f"<tr><td>{esc(c['id'])}</td><td>{esc(c['area'])}</td><td>{_when(c['last_ms'])}</td>"
                       f"<td>{c['pings']}</td></tr>" for c in indicator["clusters"])
    rows = "".join(f"<tr><td>{_when(g['at_ms'])}</td><td>{esc(g['cluster'])}</td><td>{esc(g['kind'])}</td>"
                   f"<td>{esc(json.dumps(g['body'], ensure_ascii=False))}</td></tr>" for g in logs)
    return (f"<!doctype html><html lang='vi'><meta charset='utf-8'><meta http-equiv='refresh' content='10'>"
            f"<title>HTTTN (giả lập / emulated)</title>"
            f"<h1>Cụm loa kết nối / Clusters connected: <span id='connected'>{indicator['connected']}</span> / "
            f"<span id='total'>{indicator['total']}</span></h1>"
            f"<h2>Theo xã / Per commune</h2><table id='areas'>{areas}</table>"
            f"<h2>Lần ping cuối / Last ping</h2><table id='clusters'>{clusters}</table>"
            f"<p><a href='{emulator_send.SEND_PATH}'>Gửi lệnh tới cổng kết nối / Send to the gateway</a></p>"
            f"<h2>Nhật ký bản tin / Bulletin logs</h2><table id='logs'>{rows}</table></html>")


def _when(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def _put(out: dict[str, Any], path: list[str], value: Any) -> None:
    for step in path[:-1]:
        out = out.setdefault(step, {})
    out[path[-1]] = value


def _now_ms() -> int:
    return int(time.time() * 1000)
