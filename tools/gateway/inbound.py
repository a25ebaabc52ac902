"""The gateway's inbound HTTP(S) API: the HTTTN's calls, on the paths of the profile. Every call is authenticated
(bearer token or client certificate), checked against its credential's levels, rate-limited, dispatched to its
operation and written to the audit log; every answer has the HTTTN's reply shape. A refused call changes nothing.
stdlib ThreadingHTTPServer (one thread per call, like the emulator). Must not import the console or Loa commands.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools.gateway import inbound_fields as fields
from tools.gateway.audit import Audit
from tools.gateway.inbound_api import Caller, InboundCall, Operation, Reply
from tools.gateway.inbound_config import Credential, Listen
from tools.gateway.inbound_fields import Malformed
from tools.gateway.inbound_guard import Guard
from tools.gateway.profile import Profile

Say = Callable[..., None]
JTI_HEADER = "Loa-Jti"  # the jtis a call sent (a header, so the HTTTN's reply body stays its own shape)


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    raw: bytes
    cert_name: str
    peer: str


class InboundApi:
    """Decides each call (`answer`) and serves them (`serve`/`close`)."""

    def __init__(self, profile: Profile, listen: Listen, credentials: tuple[Credential, ...],
                 operations: dict[str, Operation], audit: Audit, say: Say) -> None:
        self.profile, self.listen, self.operations, self.audit, self.say = profile, listen, operations, audit, say
        self.guard = Guard(credentials, rate_per_min=listen.rate_per_min, burst=listen.burst,
                           emergency_per_hour=listen.emergency_per_hour, emergency_burst=listen.emergency_burst)
        self.by_path = {path: op for op, path in profile.api.paths.items()}
        self.server = _server(self, listen)

    @property
    def url(self) -> str:
        scheme = "https" if self.listen.cert else "http"
        return f"{scheme}://{self.listen.host}:{self.server.server_port}"

    def serve(self) -> threading.Thread:
        thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                  name="inbound-api", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ---- one call -----------------------------------------------------------------------------------------------

    def answer(self, req: Request) -> tuple[int, dict[str, Any], tuple[str, ...]]:
        """(HTTP status, reply body, jtis sent) for one call, audited whatever the outcome."""
        started = _now_ms()
        login = self.profile.login
        credential = self.guard.identify(req.headers.get(login.header.lower(), ""), login.scheme, req.cert_name)
        operation = self.by_path.get(req.path.split("?")[0], "")
        body, reply = self._decide(req, credential, operation, started)
        self._audit(req, credential, operation, body, reply, started)
        return reply.http_status, self.shape(reply), reply.jtis

    def _decide(self, req: Request, credential: Credential | None, operation: str,
                started: int) -> tuple[dict[str, Any], Reply]:
        if credential is None:
            return {}, Reply(False, "Xác thực không hợp lệ / not authenticated", 401)
        if not operation:
            return {}, Reply(False, f"Không có API {req.path} / no such path", 404)
        body = _json_object(req.raw)
        if body is None:
            return {}, Reply(False, "Dữ liệu không phải JSON hợp lệ / the body is not a JSON object", 400)
        level = fields.level(self.profile, body)
        if level is not None and level not in credential.levels:
            return body, Reply(False, f"Không được cấp quyền gửi mức {level} / level {level} not granted", 403)
        if not self.guard.allow(credential, level == "emergency"):
            return body, Reply(False, "Quá nhiều yêu cầu, thử lại sau / rate limited", 429)
        return body, self._dispatch(operation, body, self._caller(credential, req, body), started)

    def _dispatch(self, operation: str, body: dict[str, Any], caller: Caller, started: int) -> Reply:
        run = self.operations.get(operation)
        if run is None:
            return Reply(False, f"Chưa hỗ trợ {operation} / not available on this gateway", 501)
        try:
            return run(InboundCall(operation, body, caller, started))
        except Malformed as exc:
            return Reply(False, str(exc), 400)

    def _caller(self, credential: Credential, req: Request, body: dict[str, Any]) -> Caller:
        header = self.profile.api.operator_header
        # HTTP headers are Latin-1: a Vietnamese name comes percent-encoded (UTF-8), and is read back as written
        operator = urllib.parse.unquote(req.headers.get(header.lower(), "")) if header else ""
        named = fields.get(self.profile, body, "operator")
        return Caller(credential.name, operator or (str(named) if named is not None else ""), credential.levels,
                      credential.areas)

    def shape(self, reply: Reply) -> dict[str, Any]:
        http, api = self.profile.http, self.profile.api
        out: dict[str, Any] = {http.status_field: http.ok_value if reply.ok else api.failed_value,
                               http.reason_field: reply.reason}
        if reply.content:
            if api.content_field:
                out[api.content_field] = reply.content
            else:
                out.update(reply.content)
        return out

    def _audit(self, req: Request, credential: Credential | None, operation: str, body: dict[str, Any],
               reply: Reply, started: int) -> None:
        caller = self._caller(credential, req, body) if credential else None
        self.audit.write({"ts": started, "ms": _now_ms() - started, "peer": req.peer, "path": req.path,
                          "client": credential.name if credential else None,
                          "operator": caller.operator if caller else "", "operation": operation or None,
                          "source": fields.get(self.profile, body, "source_id"), "ok": reply.ok,
                          "http": reply.http_status, "reason": reply.reason, "units": list(reply.units),
                          "areas": list(reply.areas), "jtis": list(reply.jtis),
                          "level": fields.level(self.profile, body)})
        if not reply.ok:
            self.say("gateway_inbound_refused", client=credential.name if credential else "?",
                     operation=operation or req.path, status=reply.http_status, reason=reply.reason)


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _server(api: InboundApi, listen: Listen) -> ThreadingHTTPServer:
    context = _tls(listen)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self) -> Any:
            sock, addr = self.socket.accept()
            if context is None:
                return sock, addr
            # the handshake happens in the call's own thread, so a slow client never holds up the others
            return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

        def handle_error(self, request: Any, client_address: Any) -> None:
            """A failed handshake or a dropped connection is the caller's problem, not a traceback on the console."""

    return Server((listen.host, listen.port), _handler(api))


def _tls(listen: Listen) -> ssl.SSLContext | None:
    if not listen.cert:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(listen.cert, listen.key or None)
    if listen.client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(listen.client_ca)
    return context


def _handler(api: InboundApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30

        def setup(self) -> None:
            super().setup()
            if isinstance(self.connection, ssl.SSLSocket):
                self.connection.do_handshake()

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                self.close_connection = True
                return self._send(400, api.shape(Reply(False, "Thiếu độ dài / bad Content-Length", 400)), ())
            if length > api.listen.max_body_bytes:
                self.close_connection = True
                return self._send(413, api.shape(Reply(False, "Dữ liệu quá lớn / body too large", 413)), ())
            req = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length),
                          _cert_name(self.connection), self.client_address[0])
            self._send(*api.answer(req))

        def do_GET(self) -> None:
            self._send(405, api.shape(Reply(False, "Chỉ nhận POST / POST only", 405)), ())

        def _send(self, status: int, reply: dict[str, Any], jtis: tuple[str, ...]) -> None:
            data = json.dumps(reply, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if jtis:
                self.send_header(JTI_HEADER, ",".join(jtis))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the audit log records every call."""

    return Handler


def _cert_name(connection: Any) -> str:
    """The common name of a verified client certificate, or ""."""
    cert = connection.getpeercert() if isinstance(connection, ssl.SSLSocket) else None
    names = [pair for rdn in (cert or {}).get("subject", ()) for pair in rdn]
    return next((str(pair[1]) for pair in names if pair[0] == "commonName"), "")


def _now_ms() -> int:
    return int(time.time() * 1000)
