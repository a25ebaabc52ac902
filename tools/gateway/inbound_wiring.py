"""Puts the inbound API together for `loa gateway`: the registry and the audit log beside the outbox, the signer on
the gateway's console link, the unit operations (and the bulletin operations) on the server, closed in reverse order
by the service's ExitStack. Must hold no decisions of its own."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from province.console import Console
from tools.gateway.audit import Audit
from tools.gateway.bulletins import open_operations
from tools.gateway.config import Config
from tools.gateway.inbound import InboundApi
from tools.gateway.inbound_api import Operation
from tools.gateway.inbound_config import Inbound
from tools.gateway.outbox import Outbox
from tools.gateway.places import AreaGroups, Places
from tools.gateway.registry import Registry
from tools.gateway.signer import ConsoleSender
from tools.gateway.south import South
from tools.gateway.units_ops import UnitOps

Say = Callable[..., None]


def start(cfg: Config, inbound: Inbound, console: Console, south: South, outbox: Outbox, say: Say,
          parts: ExitStack) -> InboundApi:
    registry = Registry(Path(inbound.listen.registry))
    parts.callback(registry.close)
    audit = Audit(Path(inbound.listen.audit), max_bytes=inbound.listen.audit_max_bytes, keep=inbound.listen.audit_keep)
    parts.callback(audit.close)
    areas = AreaGroups(inbound.areas, lambda: _groups(south))
    places = Places(areas, registry, lambda dev: _status(south, dev), cfg.gateway.wide_groups)
    sender = ConsoleSender(console, inbound.signing)
    operations: dict[str, Operation] = {
        **UnitOps(cfg.profile, sender, places, lambda dev: _hb(south, dev)).operations(),
        **open_operations(cfg, sender, outbox, areas, parts),
    }
    api = InboundApi(cfg.profile, inbound.listen, inbound.credentials, operations, audit, say)
    api.serve()
    parts.callback(api.close)
    say("gateway_inbound_started", url=api.url, paths=len(cfg.profile.api.paths), served=len(operations))
    return api


def _status(south: South, dev: str) -> dict[str, object] | None:
    """What the unit last said (the loop thread replaces a unit's status whole, so a reader sees one or the other)."""
    seen = south.units.get(dev)
    return seen.status if seen is not None and seen.status else None


def _groups(south: South) -> set[str]:
    """Every group some unit reports (a copy of the units first: the loop thread may add one meanwhile)."""
    return {g for seen in list(south.units.values()) for g in seen.status.get("groups") or [] if isinstance(g, str)}


def _hb(south: South, dev: str) -> dict[str, object]:
    seen = south.units.get(dev)
    return seen.hb if seen is not None else {}
