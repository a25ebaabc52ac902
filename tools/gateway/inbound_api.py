"""The contract between the gateway's inbound HTTP server and the operations it dispatches to.

The server (inbound.py) authenticates, rate-limits and audits a call, then hands an `InboundCall` to the operation the
profile's path names; the operation answers with a `Reply` and commands go out only through a `Sender`. Operations
never see HTTP, and the server never sees a Loa command. Pure data: must not import I/O modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.core.topics import Target

# Operation names: the profile maps each to a path (and may leave any out). The names are Loa's, never the HTTTN's.
OPERATIONS = (
    "register",      # API1: register / authenticate a cluster
    "assign_area",   # API2: assign a cluster to an area (-> Loa groups)
    "query",         # API3: query (or remove) a cluster
    "volume",        # API4: set a cluster's volume
    "bulletin",      # API5: a bulletin with its broadcast schedule (audio -> play/store+schedule; e-board -> display)
    "cancel",        # API6: cancel a bulletin
    "reschedule",    # API7: reschedule a bulletin
    "status",        # API8: a cluster's status
    "control",       # device control: MaLenh/ThamSo -> the matching Loa command
)


@dataclass(frozen=True)
class Caller:
    """Who called: the credential that authenticated (a configured client name) and what it is granted."""

    client: str  # the name of the inbound credential (gateway.toml), never the token itself
    operator: str  # the operator identity the HTTTN passes along (header or body field named in the profile), or ""
    levels: frozenset[str]  # bulletin levels this credential may send: normal, priority, emergency
    areas: frozenset[str]  # HTTTN area ids this credential may address; empty = every area the gateway serves


@dataclass(frozen=True)
class InboundCall:
    operation: str  # one of OPERATIONS
    body: dict[str, Any]
    caller: Caller
    received_ms: int


@dataclass(frozen=True)
class Reply:
    """The outcome, rendered in the HTTTN's reply shape by the server (status_field/reason_field of the profile).

    `ok` False with a `reason` (Vietnamese first, as the HTTTN shows it to its operator); `http_status` for refusals
    that are the caller's fault (400 malformed, 401/403 auth, 404 unknown, 409 conflict, 429 rate-limited);
    `content` is merged into the reply body under the profile's content field (status queries); `audit` is what
    the audit log records beyond who/what (units and areas addressed, jtis sent)."""

    ok: bool
    reason: str = ""
    http_status: int = 200
    content: dict[str, Any] = field(default_factory=dict)
    units: tuple[str, ...] = ()
    jtis: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()  # HTTTN areas addressed (for the audit log)


class Sender(Protocol):
    """Signs with the gateway's own scoped key and publishes (QoS 1) through the gateway's console link."""

    def send(self, target: Target, cmd: str, args: dict[str, Any], **sign: Any) -> str:
        """The command's jti."""
        ...


class Operation(Protocol):
    def __call__(self, call: InboundCall) -> Reply: ...
