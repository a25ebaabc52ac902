"""The bulletin operations of the inbound API (`bulletin`, `cancel`, `reschedule`): read the body through the
profile, check the caller's grants, fetch and hash the media, send the plan through the Sender, keep what was sent in
the registry, and queue a schedule log north when a programme changes. Must hold no HTTTN field name; must not import
the HTTP server.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from agent.core.topics import Target
from tools.gateway import bulletin_plan as plans
from tools.gateway import bulletin_read as reads
from tools.gateway.bulletin_plan import Media, Step
from tools.gateway.bulletin_read import BadBulletin, Bulletin, why
from tools.gateway.bulletin_registry import Record, Registry
from tools.gateway.config import Config
from tools.gateway.inbound_api import Caller, InboundCall, Operation, Reply, Sender
from tools.gateway.mapping import body as build_body
from tools.gateway.media import Fetcher, MediaError
from tools.gateway.outbox import Outbox
from tools.gateway.profile import Profile

Fetch = Callable[[str, str], Media]  # (url, kind) -> the URL and its SHA-256


def open_operations(cfg: Config, sender: Sender, outbox: Outbox, areas: Mapping[str, str],
                    parts: ExitStack) -> dict[str, Operation]:
    """The bulletin operations of a running gateway: the registry beside the outbox (closed with `parts`), the
    province group from `wide_groups`, media limits from [gateway]. `areas`: HTTTN area id -> Loa group (may be a
    live mapping that the area operations update)."""
    registry = Registry(registry_path(Path(cfg.gateway.outbox)))
    parts.callback(registry.close)
    fetch = Fetcher(cfg.gateway.media_max_mb * 1024 * 1024, cfg.gateway.media_timeout_s)
    wide = cfg.gateway.wide_groups[0] if cfg.gateway.wide_groups else "province"
    return Bulletins(cfg.profile, sender, registry, outbox, areas, wide=wide, fetch=fetch).operations()


def registry_path(outbox: Path) -> Path:
    """gateway-outbox.sqlite -> gateway-outbox.bulletins.sqlite: beside it, backed up with it."""
    return outbox.with_name(f"{outbox.stem}.bulletins.sqlite")


class Bulletins:
    """One lock around each operation: they are rare, and a programme version must not be used twice."""

    def __init__(self, profile: Profile, sender: Sender, registry: Registry, outbox: Outbox,
                 areas: Mapping[str, str], *, wide: str = "province", fetch: Fetch | None = None,
                 clock: Callable[[], int] | None = None) -> None:
        self.profile, self.sender, self.registry, self.outbox = profile, sender, registry, outbox
        self.areas, self.wide = areas, wide
        self.fetch: Fetch = fetch or Fetcher()
        self.clock = clock or (lambda: int(time.time() * 1000))
        self._lock = threading.Lock()

    def operations(self) -> dict[str, Operation]:
        return {"bulletin": self.bulletin, "cancel": self.cancel, "reschedule": self.reschedule}

    def bulletin(self, call: InboundCall) -> Reply:
        with self._lock:
            try:
                return self._bulletin(call)
            except BadBulletin as exc:
                return Reply(False, str(exc), 400)

    def cancel(self, call: InboundCall) -> Reply:
        with self._lock:
            try:
                return self._cancel(call)
            except BadBulletin as exc:
                return Reply(False, str(exc), 400)

    def reschedule(self, call: InboundCall) -> Reply:
        with self._lock:
            try:
                return self._reschedule(call)
            except BadBulletin as exc:
                return Reply(False, str(exc), 400)

    # ---- the operations ---------------------------------------------------------------------------------------

    def _bulletin(self, call: InboundCall) -> Reply:
        b = reads.read(self.profile, call.body)
        to = plans.targets(b, self.areas, self.wide)
        if refusal := _refused(call.caller, b.level, b.areas, to, self.wide):
            return refusal
        if self.registry.get(b.id):
            return Reply(False, why(f"bản tin {b.id} đã nhận; hãy hủy hoặc đổi lịch",
                                    f"bulletin {b.id} was already received: cancel or reschedule it"), 409)
        try:
            media = self._media(b)
        except MediaError as exc:
            return Reply(False, str(exc), 422)
        now = self.clock()
        record = Record(b.id, b.title, list(b.areas), [t.audience for t in to],
                        media=dataclasses.asdict(media) if media else {}, bulletin=dataclasses.asdict(b))
        steps = plans.plan(b, to, media, {t.audience: self.registry.programme(t.audience) for t in to},
                           self._versions(to, b.timing.now, now), now)
        return self._carry_out(record, b, steps, now)

    def _cancel(self, call: InboundCall) -> Reply:
        record, refusal = self._known(call)
        if record is None:
            return refusal
        steps = [Step(_target(a), "stop", {"jti": jti}) for a, jti in record.plays.items()]
        if record.slots:
            to = [_target(a) for a in record.targets]
            versions = self._versions(to, False, self.clock())
            for t in to:
                steps.append(plans.schedule_step(t, versions[t.audience], self.registry.programme(t.audience, record.id)))
                steps.append(Step(t, "stop", {"ref": record.ref}))  # a slot of it sounding now ends too
        jtis = self._send(steps)
        now = self.clock()
        self.registry.retire(record.id, now)
        if record.slots:
            self._schedule_log(record, "removed", now)
        return Reply(True, units=tuple(record.targets), jtis=tuple(jtis))

    def _reschedule(self, call: InboundCall) -> Reply:
        record, refusal = self._known(call)
        if record is None:
            return refusal
        old = reads.from_dict(record.bulletin)
        b = dataclasses.replace(old, timing=reads.read_timing(self.profile, call.body, old.level))
        to = [_target(a) for a in record.targets]
        media = Media(**record.media) if record.media else None
        now = self.clock()
        others = {t.audience: self.registry.programme(t.audience, record.id) for t in to}
        steps = plans.plan(b, to, media, others, self._versions(to, b.timing.now, now), now)
        if b.timing.now and record.slots:  # from a programme to now: its slots go
            versions = self._versions(to, False, now)
            steps += [plans.schedule_step(t, versions[t.audience], others[t.audience]) for t in to]
        if record.slots:
            self._schedule_log(record, "removed", now)
        fresh = dataclasses.replace(record, slots=[], plays={}, bulletin=dataclasses.asdict(b))
        return self._carry_out(fresh, b, steps, now)

    # ---- parts ----------------------------------------------------------------------------------------------

    def _known(self, call: InboundCall) -> tuple[Record | None, Reply]:
        bid = reads.read_id(self.profile, call.body)
        record = self.registry.get(bid)
        if record is None:
            return None, Reply(False, why(f"không có bản tin {bid}", f"no bulletin {bid}"), 404)
        b = reads.from_dict(record.bulletin)
        refusal = _refused(call.caller, b.level, b.areas, [_target(a) for a in record.targets], self.wide)
        return (None, refusal) if refusal else (record, Reply(True))

    def _media(self, b: Bulletin) -> Media | None:
        if b.content == "audio":
            return self.fetch(b.media_url, "audio")
        if b.content == "image":
            return self.fetch(b.media_url, "image")
        return None

    def _versions(self, to: list[Target] | tuple[Target, ...], now_only: bool, now_ms: int) -> dict[str, int]:
        return {} if now_only else {t.audience: self.registry.next_version(t.audience, now_ms) for t in to}

    def _carry_out(self, record: Record, b: Bulletin, steps: list[Step], now: int) -> Reply:
        jtis = self._send(steps)
        sent = list(zip(steps, jtis, strict=True))
        record.plays = {s.target.audience: j for s, j in sent if s.cmd in ("play", "display")}
        record.jtis = [*record.jtis, *jtis]
        if not b.timing.now:
            record.ref = plans.ref_id(b.id)
            record.slots = plans.slots(b, b.timing)
        self.registry.put(record, now)
        if record.slots:
            self._schedule_log(record, "added", now)
        return Reply(True, units=tuple(record.targets), jtis=tuple(jtis))

    def _send(self, steps: list[Step]) -> list[str]:
        return [self.sender.send(s.target, s.cmd, s.args) for s in steps]

    def _schedule_log(self, record: Record, action: str, now: int) -> None:
        log = {"id": record.id, "title": record.title, "bulletins": [record.id], "areas": record.areas,
               "action": action, "at_ms": now}
        ctx: dict[str, Any] = {"profile": dataclasses.asdict(self.profile.identity), "log": log}
        self.outbox.add_log(f"schedule_log:{record.id}:{action}:{now}", "schedule_log", "",
                            build_body(self.profile, "schedule_log", ctx))


def _target(audience: str) -> Target:
    kind, _, name = audience.partition(":")
    return Target(kind, name)


def _refused(caller: Caller, level: str, areas: tuple[str, ...], to: Any, wide: str) -> Reply | None:
    """The caller's grants: its levels, and its areas unless it may address every area."""
    if level not in caller.levels:
        return Reply(False, why(f"tài khoản {caller.client} không được gửi bản tin mức {level}",
                                f"{caller.client} may not send {level} bulletins"), 403)
    wide_target = any(t.name == wide for t in to)
    outside = [a for a in areas if a not in caller.areas]
    if caller.areas and (outside or (wide_target and not areas)):
        shown = ", ".join(outside) or wide
        return Reply(False, why(f"tài khoản {caller.client} không được gửi tới {shown}",
                                f"{caller.client} may not address {shown}"), 403)
    return None

