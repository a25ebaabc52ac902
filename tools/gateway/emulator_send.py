"""The emulated HTTTN's sending side: it calls the gateway's inbound API as the HTTTN would (the profile's path for
each operation, its own bearer token, an operator header), and gives back the status, the reply and the jtis the
gateway sent. Also the benchmark's hook (`via_emulator`): one call through a running emulator's JSON endpoint. Bodies
are the caller's (built with the profile's field names): this module holds none. Must not import the gateway.
"""

from __future__ import annotations

import html
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from tools.gateway.profile import Profile

JTI_HEADER = "Loa-Jti"  # tools.gateway.inbound names it; the emulator does not import the gateway
SEND_PATH = "/emulator/send"


class GatewayClient:
    def __init__(self, profile: Profile, url: str, token: str, ca: str = "", operator: str = "emulator") -> None:
        self.profile, self.url, self.token, self.operator = profile, url.rstrip("/"), token, operator
        self.context = ssl.create_default_context(cafile=ca) if ca else None

    def send(self, operation: str, body: Any, operator: str = "") -> dict[str, Any]:
        """{"status": HTTP status, "reply": the gateway's reply, "jtis": [...]}; a call the profile has no path for,
        or a gateway that cannot be reached, is said in "reply" with status 0."""
        path = self.profile.api.paths.get(operation)
        if path is None:
            return {"status": 0, "reply": f"no path for {operation!r} in the profile", "jtis": []}
        login = self.profile.login
        headers = {"Content-Type": "application/json; charset=utf-8", login.header: f"{login.scheme} {self.token}"}
        if self.profile.api.operator_header:
            headers[self.profile.api.operator_header] = _latin1(operator or self.operator)
        data = json.dumps(body, ensure_ascii=False).encode()
        req = urllib.request.Request(self.url + path, data, headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.context) as r:
                return _answer(r.status, r.read(), r.headers.get(JTI_HEADER, ""))
        except urllib.error.HTTPError as exc:
            return _answer(exc.code, exc.read(), exc.headers.get(JTI_HEADER, ""))
        except (urllib.error.URLError, OSError) as exc:
            return {"status": 0, "reply": f"cannot reach the gateway at {self.url}: {exc}", "jtis": []}


def _answer(status: int, raw: bytes, jtis: str) -> dict[str, Any]:
    try:
        reply: Any = json.loads(raw)
    except ValueError:
        reply = raw.decode(errors="replace")[:500]
    return {"status": status, "reply": reply, "jtis": [j for j in jtis.split(",") if j]}


def _latin1(text: str) -> str:
    """HTTP headers are Latin-1: a Vietnamese name goes percent-encoded rather than break the call."""
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        return urllib.parse.quote(text)


def via_emulator(emulator_url: str, operation: str, body: dict[str, Any], operator: str = "bench") -> list[str]:
    """The benchmark's hook: the emulator sends `body` as `operation` to the gateway; the jtis the gateway signed.
    Raises RuntimeError when the gateway refused the call."""
    req = urllib.request.Request(emulator_url.rstrip("/") + SEND_PATH, json.dumps(
        {"operation": operation, "body": body, "operator": operator}, ensure_ascii=False).encode(),
        {"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        answer = json.loads(r.read())
    if answer.get("status") != 200:
        raise RuntimeError(f"the gateway refused the {operation}: {answer}")
    return list(answer["jtis"])


def form(operations: list[str]) -> str:
    """The page where a person sends a call: an operation, a JSON body, the answer shown below."""
    options = "".join(f"<option>{html.escape(op)}</option>" for op in operations)
    return ("<!doctype html><html lang='vi'><meta charset='utf-8'><title>HTTTN: gửi lệnh / send</title>"
            "<h1>Gửi tới cổng kết nối / Send to the gateway</h1>"
            f"<form id='send'><select id='operation'>{options}</select><br>"
            "<textarea id='body' rows='12' cols='80'>{}</textarea><br>"
            "<input id='operator' placeholder='người thực hiện / operator'>"
            "<button type='submit'>Gửi / Send</button></form><pre id='answer'></pre>"
            "<script>document.getElementById('send').onsubmit = async (e) => { e.preventDefault();"
            " const v = (id) => document.getElementById(id).value;"
            " let body; try { body = JSON.parse(v('body')); } catch (err) {"
            " document.getElementById('answer').textContent = 'JSON: ' + err; return; }"
            f" const r = await fetch('{SEND_PATH}', {{method: 'POST', headers: {{'Content-Type': 'application/json'}},"
            " body: JSON.stringify({operation: v('operation'), body: body, operator: v('operator')})});"
            " document.getElementById('answer').textContent = JSON.stringify(await r.json(), null, 2); };"
            "</script></html>")
