"""What the controller hands a shard (one JSON line on its stdin): its slice of the fleet and how to connect.

Secrets travel only here (a pipe), never on a command line. Must not import paho or the core.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sim.models import Models


@dataclass(frozen=True)
class ShardSpec:
    shard: int
    first: int  # fleet index range [first, first + count): client ids of shards never overlap
    count: int
    fleet_total: int
    seed: int
    url: str
    trust: dict[str, Any]  # the JWK Set the units trust
    addresses: tuple[str, ...] = ()  # source addresses, used round-robin
    prefix: str = "sim-"
    topic_prefix: str = "loa/v1"
    username: str = ""  # "" = every unit is its own broker identity (password derived from `secret`)
    password: str = ""  # the shared password when `username` is set
    secret: str = ""  # hex key from which per-unit passwords are derived
    ca: str = ""
    shared_signature_checks: bool = True  # see sim/trust.py
    models: Models = field(default_factory=Models)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(text: str) -> ShardSpec:
        raw = json.loads(text)
        raw["models"] = Models(**raw["models"])
        raw["addresses"] = tuple(raw["addresses"])
        return ShardSpec(**raw)


def unit_password(secret: str, device_id: str) -> str:
    """Each simulated unit has its own password (no shared secrets on the broker), derived so that no file per
    unit is needed: base64url(HMAC-SHA256(secret, device id)), 43 characters."""
    mac = hmac.new(bytes.fromhex(secret), device_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")
