"""The gateway's inbound API in tests: a gateway.toml with [inbound], its callers' token files and the gateway's
signing key, and a raw HTTP caller that sees what the HTTTN would (status, reply, the jtis header)."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from province import keys as key_tool
from province.localnet import free_port
from tools.gateway import profile as profiles
from tools.gateway.inbound import JTI_HEADER

GATEWAY_KEY = "htttn-test"
GRANTED_GROUPS = ("xa-in-a", "xa-in-b", "province")


def gateway_keys(root: Path) -> Path:
    """A key folder whose trust set also holds a gateway key granted normal and priority only, on GRANTED_GROUPS."""
    key_tool.init(root)
    key_tool.add_gateway(root, GATEWAY_KEY, groups=GRANTED_GROUPS, levels=("normal", "priority"))
    return root


@dataclass
class Caller:
    name: str
    token: str
    levels: tuple[str, ...]
    areas: tuple[str, ...] = ()


@dataclass
class Inbound:
    """The inbound API of one gateway under test."""

    profile_path: Path
    port: int
    callers: dict[str, Caller]
    audit: Path

    @property
    def profile(self) -> profiles.Profile:
        return profiles.load(self.profile_path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, operation: str, body: Any, caller: str = "htttn", *, raw: bytes | None = None,
             token: str | None = None, path: str | None = None, operator: str = "Nguyen Van A"
             ) -> tuple[int, Any, list[str]]:
        """(HTTP status, JSON reply, jtis the gateway sent)."""
        p = self.profile
        headers = {"Content-Type": "application/json", p.login.header:
                   f"{p.login.scheme} {self.callers[caller].token if token is None else token}",
                   p.api.operator_header: operator}
        data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
        url = self.url + (path or p.api.paths[operation])
        req = urllib.request.Request(url, data, headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=15) as r:
                return r.status, json.loads(r.read()), _jtis(r.headers.get(JTI_HEADER, ""))
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read()), _jtis(exc.headers.get(JTI_HEADER, ""))

    def failed(self, reply: Any) -> bool:
        p = self.profile
        return reply[p.http.status_field] == p.api.failed_value and bool(reply[p.http.reason_field])

    def ok(self, reply: Any) -> bool:
        return bool(reply[self.profile.http.status_field] == self.profile.http.ok_value)


def _jtis(header: str) -> list[str]:
    return [j for j in header.split(",") if j]


def with_inbound(config: Path, keys: Path, profile: Path, *, areas: dict[str, str] | None = None,
                 callers: tuple[Caller, ...] = (), **listen: Any) -> Inbound:
    """Adds [inbound], its callers (token files written beside gateway.toml) and [signing] to a gateway.toml."""
    here = config.parent
    callers = callers or (Caller("htttn", secrets.token_urlsafe(24), ("normal", "priority")),)
    port = free_port()
    lines = ["", "[inbound]", 'host = "127.0.0.1"', f"port = {port}", 'audit = "audit.jsonl"',
             'registry = "registry.sqlite"', *(f"{k} = {json.dumps(v)}" for k, v in listen.items())]
    for c in callers:
        (here / f"{c.name}.token").write_text(c.token + "\n", encoding="utf-8")
        lines += ["", f"[inbound.clients.{c.name}]", f'token_file = "{c.name}.token"', f"levels = {json.dumps(c.levels)}",
                  f"areas = {json.dumps(c.areas)}"]
    lines += ["", "[signing]", f'key = "{keys / key_tool.GATEWAYS / (GATEWAY_KEY + ".jwk")}"', "", "[areas]",
              *(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in (areas or {}).items())]
    with config.open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return Inbound(profile, port, {c.name: c for c in callers}, here / "audit.jsonl")
