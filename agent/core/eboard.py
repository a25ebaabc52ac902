"""The display desk of the core (e-boards): accepts `display` and `snapshot`, decides with the arbiter's levels what
the board shows, ends every showing with an ack and one display-log record, and keeps the board's bulletins in a
saved setting so the last content comes back after a reboot or a lost link.

Rules (docs/protocol.md, "E-boards"): emergency covers anything lower at once; priority goes ahead of waiting
normals but does not cut a timed normal being shown; a *standing* bulletin (no `duration_s`, no `until`) has no end
of its own, so anything of its level or higher may cover it, and a newer standing bulletin of the same level replaces
it once it shows (an image that fails its hash never replaces anything). `duration_s` counts from the first
showing; a covered bulletin comes back while its time lasts. Video and live streams: agent.core.board_media.

Pure: it returns effects through its host (the Device). Must not import adapters or any I/O module.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.core import arbiter, board_media
from agent.core.arbiter import EMERGENCY, Item
from agent.core.effects import Prepare, TakeSnapshot
from agent.core.events import PlayerEvent, Prepared, PrepareFailed, SnapshotTaken
from agent.core.sources import ANY_HOST, SourcePolicy
from agent.core.verify import Command
from agent.ports import DeskHost

if TYPE_CHECKING:
    from agent.core.sound import SoundDesk

PREFIX = "brd:"  # timer names
ID_PREFIX = "board:"  # play ids of downloads and of the page's player reports, so the device routes them here
SAVED_KEY = "board"
SNAPSHOT_OVERHEAD = 400  # bytes of JSON around the base64 image in a snapshot message


@dataclass(frozen=True)
class BoardSettings:
    snapshot_max_bytes: int = 16384  # the whole message on dev/<id>/display; the same cap as a command
    emergency_text_s: int = 600  # how long an emergency play's text stays on the board without its own `until`
    max_waiting: int = 32
    sources: SourcePolicy = ANY_HOST  # judges a live stream's URL before the board's browser is given it


Host = DeskHost  # what the display desk needs from the device core


@dataclass(eq=False)
class Bulletin(Item):
    """One accepted display (or the text of an emergency play) from acceptance to its end."""

    cmd: str = "display"
    text: str = ""
    image: dict[str, str] | None = None
    video: dict[str, Any] | None = None  # {url, sha256, loop}
    live: dict[str, str] | None = None  # {url}
    mode: str = "page"
    duration_ms: int | None = None
    deadline_ms: int | None = None  # fixed at the first showing: min(first shown + duration, until)

    @property
    def standing(self) -> bool:
        return self.duration_ms is None and self.until_ms is None

    @property
    def content(self) -> str:
        return board_media.content(self)


def rank(b: Bulletin) -> tuple[int, int, int, int]:
    """Highest level first; within a level a timed bulletin before a standing one (which would only be covered
    again at once), then one that was covered, then first come."""
    return (-b.level, 1 if b.standing else 0, 0 if b.front else 1, b.seq)


class BoardDesk:
    def __init__(self, settings: BoardSettings, host: Host, saved: dict[str, Any]) -> None:
        self.s, self.host = settings, host
        self.queue: list[Bulletin] = []
        self.current: Bulletin | None = None
        self.version = 0  # changes whenever what the board shows changes; the kiosk page re-renders on it
        self._seq = 0
        self._restored = [from_saved(d) for d in saved.get(SAVED_KEY, [])]
        self._snapshots: dict[str, Command] = {}
        self.trusted = True  # the unit has a trusted time: else timed non-emergency bulletins wait (time_rule)

    # ---- commands ------------------------------------------------------------------------------------------

    def display(self, c: Command, now: int) -> None:
        if len(self.queue) >= self.s.max_waiting:
            self.host.ack(now, c.jti, c.cmd, "rejected", "queue_full", f"{len(self.queue)} bulletins already wait")
            return
        b = self._bulletin(c, c.args)
        self.host.ack(now, c.jti, c.cmd, "accepted", "ok", f"{arbiter.LEVEL_NAMES[b.level]} bulletin accepted")
        if why := board_media.refusal(b, self.s.sources):
            self.host.ack(now, c.jti, c.cmd, "failed", "source_refused", why)
            return
        self._accept(b, now)

    def echo_play(self, c: Command, now: int) -> None:
        """An emergency played as speech is also shown as text, under the play's jti (its acks stay the play's)."""
        source = c.args.get("source", {})
        if c.args.get("priority") != "emergency" or "tts" not in source:
            return
        # Without its own `until`, a duration: counted on the agent's time, it follows a step of that time.
        ends = {"until": c.args["until"]} if c.args.get("until") else {"duration_s": self.s.emergency_text_s}
        args = {"text": source["tts"], "title": c.args.get("title", ""), "priority": "emergency",
                "replace": c.args.get("replace", False), **ends,
                **({"bulletin": c.args["bulletin"]} if "bulletin" in c.args else {})}
        self._accept(self._bulletin(c, args), now)

    def _bulletin(self, c: Command, a: dict[str, Any]) -> Bulletin:
        self._seq += 1
        duration, until = a.get("duration_s"), a.get("until")
        return Bulletin(
            play_id=ID_PREFIX + c.jti, jti=c.jti, level=arbiter.LEVELS[a.get("priority", "normal")], source={},
            title=unicodedata.normalize("NFC", a.get("title", "")), zones=(), volume_pct=0, seq=self._seq,
            until_ms=until * 1000 if until else None, replace=bool(a.get("replace", False)), cmd=c.cmd,
            text=unicodedata.normalize("NFC", a.get("text", "")), image=a.get("image"), video=a.get("video"),
            live=a.get("live"), mode=a.get("mode", "page"),
            duration_ms=duration * 1000 if duration else None,
            extra={"bulletin": a["bulletin"]} if "bulletin" in a else {},
        )

    def _accept(self, b: Bulletin, now: int) -> None:
        self.queue.append(b)
        self._prepare(b)
        self._arm(b, b.until_ms)
        self._advance(now)
        self._save()

    def _prepare(self, b: Bulletin) -> None:
        file = board_media.download(b)
        if file is None:
            b.media = ""
        else:
            self.host.emit(Prepare(b.play_id, file, pin=b.level == EMERGENCY))

    def holds(self, args: dict[str, Any]) -> bool:
        """Whether a `stop` with these args would end anything on the board."""
        return bool(self._matching(args))

    def stop(self, c: Command, now: int, *, acks: bool = True) -> None:
        targets = self._matching(c.args)
        if not targets:
            if acks:
                self.host.ack(now, c.jti, c.cmd, "failed", "not_found", "nothing to stop: no such bulletin on the board")
            return
        if acks:
            self.host.ack(now, c.jti, c.cmd, "accepted", "ok", "stop accepted")
        for b in targets:
            self._end(b, now, "stopped", "stopped", f"stopped by command {c.jti}")
        if acks:
            self.host.ack(now, c.jti, c.cmd, "finished", "ok", f"stopped {len(targets)} bulletin(s)")
        self._advance(now)
        self._save()

    def _matching(self, args: dict[str, Any]) -> list[Bulletin]:
        return [b for b in self._all() if args.get("all") or b.jti == args.get("jti")]

    # ---- snapshots -----------------------------------------------------------------------------------------

    def snapshot(self, c: Command, now: int) -> None:
        self.host.ack(now, c.jti, c.cmd, "accepted", "ok", "snapshot requested")
        self._snapshots[c.jti] = c
        budget = (self.s.snapshot_max_bytes - SNAPSHOT_OVERHEAD) * 3 // 4  # base64 makes 4 bytes of 3
        self.host.emit(TakeSnapshot(c.jti, budget))

    def snapshot_taken(self, e: SnapshotTaken) -> None:
        c = self._snapshots.pop(e.request_id, None)
        if c is None:
            return
        if e.error or not e.data:
            self.host.ack(e.now_ms, c.jti, c.cmd, "failed", "snapshot_failed", e.error or "no image was made")
            return
        self.host.report(e.now_ms, "display", {
            "jti": c.jti, "kind": "snapshot", "ts": e.now_ms, "mime": e.mime, "width": e.width, "height": e.height,
            "bytes": len(e.data), "showing": self.current.jti if self.current else None,
            "data": base64.b64encode(e.data).decode("ascii"),
        })
        self.host.ack(e.now_ms, c.jti, c.cmd, "finished", "ok", f"{e.width}x{e.height} {e.mime}, {len(e.data)} bytes")

    # ---- images and videos ---------------------------------------------------------------------------------

    def media_event(self, e: Prepared | PrepareFailed | PlayerEvent) -> None:
        b = next((b for b in self._all() if b.play_id == e.play_id), None)
        if b is None:
            return
        if isinstance(e, PlayerEvent):
            self._played(b, e)
        elif isinstance(e, PrepareFailed):
            self._end(b, e.now_ms, "failed", "failed", e.msg, code=e.code)
        else:
            b.media = e.media
        self._advance(e.now_ms)
        self._save()

    def _played(self, b: Bulletin, e: PlayerEvent) -> None:
        """The board's page reports on the video it plays: only the bulletin on screen can be ended by it."""
        end = board_media.page_report(b, e.kind, e.detail) if b is self.current else None
        if end is not None:
            state, result, msg, code = end
            self._end(b, e.now_ms, state, result, msg, code=code)
            if state == "failed":
                self.host.log("warning", "board_video_failed", title=b.title or b.jti, reason=e.detail[:120])

    # ---- what shows ----------------------------------------------------------------------------------------

    def _advance(self, now: int) -> None:
        ready = [b for b in self.queue if b.ready(now) and (b.until_ms is None or b.until_ms > now) and self._may_show(b)]
        cur = self.current
        if cur is None:
            if ready:
                self._show(min(ready, key=rank), now)
            return
        able = [b for b in ready if arbiter.may_preempt(cur, b) or (cur.standing and b.level >= cur.level)]
        if able:
            cutter = min(able, key=rank)
            self._cover(cur, cutter, now)
            self._show(cutter, now)

    def _may_show(self, b: Bulletin) -> bool:
        return self.trusted or b.level == EMERGENCY or b.standing

    def _show(self, b: Bulletin, now: int) -> None:
        self.queue.remove(b)
        self.current, b.started_ms = b, now
        self.version += 1
        if b.deadline_ms is None and not b.standing:
            ends = [t for t in (now + b.duration_ms if b.duration_ms else None, b.until_ms) if t is not None]
            b.deadline_ms = min(ends)
        self._arm(b, b.deadline_ms)
        for old in [o for o in self.queue if b.standing and o.standing and o.level == b.level]:
            self._end(old, now, "stopped", "replaced", f"replaced by {b.cmd} {b.jti}")
        self._ack(b, now, "started", "ok", "shown on the board")
        self.host.log("info", "board_showing", title=b.title or b.jti, priority=arbiter.LEVEL_NAMES[b.level])

    def _cover(self, b: Bulletin, by: Bulletin, now: int) -> None:
        """A covered bulletin comes back after the one that covers it, unless a replacing emergency supersedes it."""
        if arbiter.supersedes(b, by) or (b.standing and by.standing and b.level == by.level):
            self._end(b, now, "stopped", "replaced", f"replaced by {by.cmd} {by.jti}")
            return
        self._record(b, now, "preempted")
        self._ack(b, now, "preempted", "ok", f"covered by {by.jti}; shown again after it while its time lasts")
        b.started_ms, b.front, self.current = None, True, None
        self.queue.append(b)

    def _end(self, b: Bulletin, now: int, state: str, result: str, msg: str, code: str = "ok") -> None:
        if b is self.current:
            self._record(b, now, result)
            self.current = None
            self.version += 1
        elif b in self.queue:
            self.queue.remove(b)
        self.host.cancel(f"{PREFIX}end:{b.play_id}")
        self._ack(b, now, state, code, msg)

    def _ack(self, b: Bulletin, now: int, state: str, code: str, msg: str) -> None:
        if b.cmd == "display":  # the text of an emergency play rides on the play's own acks
            self.host.ack(now, b.jti, b.cmd, state, code, msg)

    def _record(self, b: Bulletin, now: int, result: str) -> None:
        started = b.started_ms or now
        body: dict[str, Any] = {
            "jti": b.jti, "cmd": b.cmd, "title": b.title, "priority": arbiter.LEVEL_NAMES[b.level],
            "content": b.content, "mode": b.mode, "started_ts": started, "ended_ts": now,
            "duration_s": round((now - started) / 1000, 2), "result": result,
        }
        if b.text:
            body["text_sha256"] = hashlib.sha256(b.text.encode()).hexdigest()
        body |= board_media.record(b)
        if "bulletin" in b.extra:
            body["bulletin"] = b.extra["bulletin"]
        self.host.report(now, "displaylog", body)

    # ---- time ----------------------------------------------------------------------------------------------

    def _arm(self, b: Bulletin, at_ms: int | None) -> None:
        if at_ms is not None:
            self.host.timer(f"{PREFIX}end:{b.play_id}", at_ms)

    def timer(self, now: int, name: str) -> None:
        kind, _, play_id = name[len(PREFIX):].partition(":")
        b = next((b for b in self._all() if b.play_id == play_id), None)
        if kind != "end" or b is None or not (self._may_show(b) or b is self.current):
            return  # a waiting bulletin's time is judged again when the unit has a trusted time (retime)
        if b is self.current or b.deadline_ms is not None:
            self._end(b, now, "finished", "completed", "its display time is over")
        else:
            self._end(b, now, "expired", "expired", "its time window ended before it could be shown")
        self._advance(now)
        self._save()

    def start(self, now: int) -> None:
        """After a (re)start: bulletins whose time is not over come back, the one that was shown first."""
        restored, self._restored = self._restored, []
        for b in restored:
            if self._over(b, now) and (self.trusted or b.level == EMERGENCY):
                continue  # its time ran out while the unit was off
            self._seq = max(self._seq, b.seq)
            self.queue.append(b)
            self._prepare(b)
            self._arm(b, b.deadline_ms or b.until_ms)
        self._advance(now)
        self._save()

    def _over(self, b: Bulletin, now: int) -> bool:
        return min(t for t in (b.deadline_ms, b.until_ms, now + 1) if t is not None) <= now

    def retime(self, now: int, step_ms: int) -> None:
        """The trusted time is new, or stepped by step_ms: end timers again from it, and what is over by it ends.
        A deadline counted from a showing (`duration_s`) moves with the step; an `until` is the signer's time."""
        for b in self._all():
            if b.deadline_ms is not None and b.duration_ms:
                b.deadline_ms = min(t for t in (b.deadline_ms + step_ms, b.until_ms) if t is not None)
            self._arm(b, b.deadline_ms or b.until_ms)
        for b in [b for b in self._all() if self._over(b, now)]:
            self.timer(now, f"{PREFIX}end:{b.play_id}")
        self._advance(now)
        self._save()

    # ---- persistence and reports ---------------------------------------------------------------------------

    def _save(self) -> None:
        self.host.save(SAVED_KEY, [to_saved(b) for b in self._all()])

    def _all(self) -> list[Bulletin]:
        return ([self.current] if self.current else []) + list(self.queue)

    def status(self) -> dict[str, Any]:
        b = self.current
        showing = None if b is None else {"jti": b.jti, "title": b.title, "priority": arbiter.LEVEL_NAMES[b.level],
                                          "mode": b.mode, "content": b.content}
        return {"board": {"showing": showing, "queued": len(self.queue)}}

    def heartbeat(self) -> dict[str, Any]:
        return {"role": "eboard", "showing": self.current.jti if self.current else None}

    def view(self) -> dict[str, Any]:
        """What the kiosk page draws (the image as its verified local file; the page server maps it to a URL)."""
        b = self.current
        if b is None:
            return {"version": self.version, "showing": None}
        return {"version": self.version, "showing": {
            "jti": b.jti, "title": b.title, "priority": arbiter.LEVEL_NAMES[b.level], "mode": b.mode,
            "text": b.text, **board_media.view(b), "since_ts": b.started_ms, "until_ts": b.deadline_ms}}


def to_saved(b: Bulletin) -> dict[str, Any]:
    return {"jti": b.jti, "cmd": b.cmd, "level": b.level, "title": b.title, "text": b.text, "image": b.image,
            "video": b.video, "live": b.live, "mode": b.mode, "duration_ms": b.duration_ms, "until_ms": b.until_ms, "deadline_ms": b.deadline_ms,
            "seq": b.seq, "replace": b.replace, **({"bulletin": b.extra["bulletin"]} if "bulletin" in b.extra else {})}


def from_saved(d: dict[str, Any]) -> Bulletin:
    return Bulletin(play_id=ID_PREFIX + d["jti"], jti=d["jti"], level=d["level"], source={}, title=d["title"],
                    zones=(), volume_pct=0, seq=d["seq"], until_ms=d["until_ms"], replace=d.get("replace", False),
                    cmd=d["cmd"], text=d["text"], image=d["image"], video=d.get("video"), live=d.get("live"),
                    mode=d["mode"], duration_ms=d["duration_ms"],
                    deadline_ms=d["deadline_ms"], front=True, extra={"bulletin": d["bulletin"]} if "bulletin" in d else {})


# ---- a unit with both desks: `stop` and emergency `play` reach the board too -------------------------------------


def stop_on_both(sound: SoundDesk | None, board: BoardDesk, c: Command, now: int) -> None:
    """`stop` reaches both desks; the one that holds the bulletin answers (the sound desk when both do)."""
    if sound is None or not sound.holds(c.args):
        board.stop(c, now)
        return
    board.stop(c, now, acks=False)
    sound.stop(c, now)


def play_and_show(sound: SoundDesk, board: BoardDesk, c: Command, now: int) -> None:
    """An accepted emergency `play` with a `tts` source also shows its text on the board while it sounds."""
    sound.play(c, now)
    if sound.holds({"jti": c.jti}):
        board.echo_play(c, now)
