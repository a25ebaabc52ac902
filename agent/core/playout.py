"""The sound desk's playout: asks the arbiter what plays, sequences amplifier power (relay on -> warm-up -> audio ->
tail -> relay off, zones staggered, a hard maximum on-time), follows the player, and ends every play with an ack and
one play-log record. The sound desk (agent.core.sound) accepts the commands and feeds this queue.

The sound settings live here because the playout is the lower layer: the desk builds on it, never the reverse.
Pure: it returns effects through its host (the Device). Must not import adapters, runtime or any I/O module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Protocol

from agent.core import arbiter, on_time, schedule
from agent.core.arbiter import EMERGENCY, Item
from agent.core.clocktime import in_window
from agent.core.effects import PlayAudio, RenewOnTime, SetVolume, StopAudio
from agent.ports import SwitchingHost

PREFIX = "snd:"  # timer names of the sound desk and its playout
SILENCE_DBFS = -50.0  # below this while the amplifier is on, nothing reached the horns


@dataclass(frozen=True)
class SoundSettings:
    zones: tuple[int, ...]
    tz: tzinfo
    quiet_window: tuple[int, int] | None = (22 * 60, 5 * 60)
    emergency_volume_pct: int = 100
    warmup_s: float = 1.0
    tail_s: float = 2.0
    stagger_s: float = 0.5
    max_on_s: int = 3600
    renew_s: float | None = None  # renewals of the on-time budget (agent.core.on_time); None: a third of max_on_s
    alert_tone: str = ""  # the tone before an emergency still downloading (agent.core.alert); "" gives no alert
    alert_phrase: str = ""  # spoken after the tone when the bulletin has no title (the unit's language)
    alert_lang: str = "vi"


class Host(SwitchingHost, Protocol):
    """What the playout needs from the device core, beyond any desk's needs."""

    def relay_on(self, zone: int) -> bool: ...


def window_text(window: tuple[int, int] | None) -> str:
    w = window or (0, 0)
    return f"{w[0] // 60:02d}:{w[0] % 60:02d}-{w[1] // 60:02d}:{w[1] % 60:02d}"


class Playout:
    def __init__(self, settings: SoundSettings, host: Host) -> None:
        self.s, self.host = settings, host
        self.queue: list[Item] = []
        self.current: Item | None = None
        self.playing = False  # the player was told to play `current` (warm-up is over)
        self.powered: set[int] = set()  # zones switched on for audio
        self.power_since_ms: int | None = None
        self.tail_due_ms: int | None = None  # counts from the end of audio; later events never stretch it
        self.trusted = True  # the unit has a trusted time: else only emergencies start (agent.core.time_rule)

    def add(self, item: Item) -> None:
        """Queue an accepted item: it waits for its media and its turn (the next `advance`)."""
        self.queue.append(item)

    def items(self) -> list[Item]:
        return ([self.current] if self.current else []) + list(self.queue)

    def find(self, play_id: str) -> Item | None:
        return next((i for i in self.items() if i.play_id == play_id), None)

    def follow_volume(self, volume_pct: int) -> None:
        """A `volume` command (already capped): the latest order wins for the audio playing now and for every queued
        item, except emergencies, which keep the unit's emergency level (they bypass volume caps)."""
        for item in self.items():
            if item.level != EMERGENCY:
                item.volume_pct = volume_pct
        if self.current is not None and self.playing and self.current.level != EMERGENCY:
            self.host.emit(SetVolume(volume_pct))

    # ---- arbitration and power sequencing ------------------------------------------------------------------

    def advance(self, now: int) -> None:
        quiet = self.trusted and self._quiet(now)  # on an untrusted time quiet hours cannot be judged: all wait
        if quiet:
            self._hold_or_drop_for_quiet_hours(now)
        self._skip_alerts()
        allowed = [i for i in self.queue if i.level == EMERGENCY or (self.trusted and not quiet)]
        awaited = self._awaited()
        if awaited is not None:  # an alerted emergency is still in progress: only its parts, or a replacing one
            allowed = [i for i in allowed if i.jti == awaited.jti or arbiter.may_preempt(awaited, i)]
        if self.current is None:
            candidate = arbiter.choose(allowed, now)
            if candidate is not None:
                if awaited is not None and candidate.jti != awaited.jti:
                    self._supersede(awaited, candidate, now)
                self._start(candidate, now)
            else:
                self._schedule_tail(now)
        elif (cutter := arbiter.preemptor(allowed, self.current, now)) is not None:
            self._preempt(self.current, cutter, now)
            self._start(cutter, now)

    def _skip_alerts(self) -> None:
        """Parts of an alert that have not sounded yet are skipped once their bulletin's audio is ready; a part in
        its warm-up hands the warm-up to the bulletin. A part already sounding plays to its end (never cut mid-word)."""
        for part in [i for i in self.queue if i.alert_of and self._ready_bulletin(i.alert_of)]:
            self.queue.remove(part)
        cur = self.current
        if cur is not None and cur.alert_of and not self.playing:
            bulletin = self._ready_bulletin(cur.alert_of)
            if bulletin is not None:
                self.queue.remove(bulletin)
                self.current = bulletin  # the pending `go` timer plays it

    def _ready_bulletin(self, play_id: str) -> Item | None:
        item = next((i for i in self.queue if i.play_id == play_id), None)
        return item if item is not None and item.media is not None else None

    def _awaited(self) -> Item | None:
        """The emergency whose alert sounded and whose audio is still being prepared, if any."""
        return next((i for i in self.queue if i.alerted and i.media is None), None)

    def _supersede(self, item: Item, by: Item, now: int) -> None:
        """A replacing emergency ends `item` for good, with every other part of the same command."""
        for other in [i for i in self.items() if item.jti is not None and i.jti == item.jti and i is not item]:
            self.end(other, now, "preempted", "preempted", "replaced", f"replaced by emergency {by.jti}")
        self.end(item, now, "preempted", "preempted", "replaced", f"replaced by emergency {by.jti}")

    def _quiet(self, now: int) -> bool:
        window = self.s.quiet_window
        return window is not None and in_window(schedule.local_minute(now, self.s.tz), window)

    def _hold_or_drop_for_quiet_hours(self, now: int) -> None:
        """Waiting bulletins whose `until` reaches the end of quiet hours wait for it; the others end now."""
        assert self.s.quiet_window is not None
        opens = schedule.window_opens_ms(now, self.s.quiet_window, self.s.tz)
        for item in [i for i in self.queue if i.level != EMERGENCY]:
            if item.until_ms is None or item.until_ms <= opens:
                self.end(item, now, "expired", "expired", "quiet_hours",
                         f"quiet hours {window_text(self.s.quiet_window)} began")
            else:
                self.host.timer(PREFIX + "quiet", opens)

    def _start(self, item: Item, now: int) -> None:
        self.queue.remove(item)
        self.current, self.playing = item, False
        bulletin = self.find(item.alert_of) if item.alert_of else None
        if bulletin is not None:
            bulletin.alerted = True
        self.host.cancel(PREFIX + "tail")
        self.tail_due_ms = None
        self.host.cancel(PREFIX + "go")  # a warm-up still pending for a cut item must not start this one twice
        for zone in sorted(self.powered - set(item.zones)):
            self._power(zone, False, now)
        new = [z for z in item.zones if z not in self.powered]
        for i, zone in enumerate(new):
            if i == 0:
                self._power(zone, True, now)
            else:
                self.host.timer(f"{PREFIX}zone:{zone}", now + int(i * self.s.stagger_s * 1000))
        if new:
            self.host.timer(PREFIX + "go", now + int(((len(new) - 1) * self.s.stagger_s + self.s.warmup_s) * 1000))
        else:
            self._go(now)
        self._renew(now)

    def _power(self, zone: int, on: bool, now: int) -> None:
        (self.powered.add if on else self.powered.discard)(zone)
        self.host.switch(zone, on)
        if on and self.power_since_ms is None:
            self.power_since_ms = now
            self.host.timer(PREFIX + "max_on", now + self.s.max_on_s * 1000)
        if not self.powered:
            self.power_since_ms = None
            self.host.cancel(PREFIX + "max_on")
            self.host.cancel(PREFIX + "renew")

    def _renew(self, now: int) -> None:
        """While an item that may outlast the hard limit is current (agent.core.on_time), the on-time budget of the
        amplifiers that are on restarts now and every renewal period: the relays' own and this playout's."""
        item = self.current
        if item is None or not on_time.may_outlast(item) or not self.powered:
            return
        self.host.emit(RenewOnTime(tuple(sorted(self.powered))))
        self.host.timer(PREFIX + "max_on", now + self.s.max_on_s * 1000)
        self.host.timer(PREFIX + "renew", now + on_time.renew_period_ms(self.s.max_on_s, self.s.renew_s))

    def _go(self, now: int) -> None:
        item = self.current
        if item is None or item.media is None:
            return
        self.playing = True
        self.host.emit(PlayAudio(item.play_id, item.media, item.volume_pct))

    def _schedule_tail(self, now: int) -> None:
        if self.powered and self.tail_due_ms is None and self._awaited() is None:
            self.tail_due_ms = now + int(self.s.tail_s * 1000)
            self.host.timer(PREFIX + "tail", self.tail_due_ms)

    def _tail(self, now: int) -> None:
        self.tail_due_ms = None
        if self.current is None:
            for zone in sorted(self.powered):
                self._power(zone, False, now)
            for zone in self.s.zones:
                self.host.cancel(f"{PREFIX}zone:{zone}")

    def _preempt(self, item: Item, by: Item, now: int) -> None:
        """The cut item goes back to the front of its level and plays again from the start (see docs), unless a
        replacing emergency supersedes it."""
        if arbiter.supersedes(item, by):
            self._supersede(item, by, now)
            return
        self.host.emit(StopAudio(item.play_id))
        if item.started_ms is not None:
            self._record(item, now, "preempted")
            if item.jti and item.acked:
                self.host.ack(now, item.jti, "play", "preempted", "requeued", "cut by a higher-level bulletin; re-queued")
        item.started_ms, item.plays_done, item.front = None, 0, True
        self.queue.append(item)
        self.current, self.playing = None, False

    # ---- player events and ends ----------------------------------------------------------------------------

    def player(self, now: int, play_id: str, kind: str, detail: str) -> None:
        item = self.current
        if item is None or item.play_id != play_id:
            return  # a late event from a play that was already stopped or preempted
        if kind == "started" and item.started_ms is None:
            item.started_ms = now
            item.relay_confirmed = all(self.host.relay_on(z) for z in item.zones)  # read back, not assumed
            if item.jti and item.acked:
                self.host.ack(now, item.jti, "play", "started", "ok", "playing")
        elif kind == "finished":
            item.plays_done += 1
            if item.plays_done < item.repeat:
                self.host.emit(PlayAudio(item.play_id, item.media or "", item.volume_pct))
            else:
                self.end(item, now, "finished", "completed", "ok", "played to the end")
                self.advance(now)
        elif kind == "failed":
            self.end(item, now, "failed", "failed", detail or "audio_error", f"playback failed: {detail}")
            self.advance(now)

    def end(self, item: Item, now: int, state: str, result: str, code: str, msg: str) -> None:
        if item is self.current:
            self.host.emit(StopAudio(item.play_id))
            self.current, self.playing = None, False
            self.host.cancel(PREFIX + "go")
        elif item in self.queue:
            self.queue.remove(item)
        self.host.cancel(f"{PREFIX}until:{item.play_id}")
        self.host.cancel(f"{PREFIX}wake:{item.play_id}")
        if item.jti and item.acked:
            self.host.ack(now, item.jti, "play", state, code, msg)
        if item.alert_of is None or item.started_ms is not None:  # a part of an alert is recorded if it sounded
            self._record(item, now, result)

    def level(self, dbfs: float | None) -> None:
        """Keep the loudest level measured while the current item plays: proof that sound reached the output."""
        item = self.current
        if item is not None and item.started_ms is not None and dbfs is not None:
            item.extra["level"] = max(dbfs, item.extra.get("level", -1000.0))

    def _record(self, item: Item, now: int, result: str) -> None:
        started = item.started_ms
        level = item.extra.pop("level", None)
        if started and item.relay_confirmed and level is not None and level < SILENCE_DBFS:
            self.host.report(now, "event", {"event": "no_audio", "ts": now, "detail": {
                "jti": item.jti, "play_id": item.play_id, "level_dbfs": round(level, 1)}})
            self.host.log("error", "no_audio", title=item.title or item.play_id, dbfs=round(level, 1))
        self.host.report(now, "playlog", {
            "jti": item.jti, "play_id": item.play_id, "title": item.title, "priority": arbiter.LEVEL_NAMES[item.level],
            "source_kind": item.source_kind, "started_ts": started, "ended_ts": now,
            "duration_s": round((now - started) / 1000, 2) if started else 0.0, "result": result,
            "relay_confirmed": item.relay_confirmed if started else False,
            "level_dbfs": None if level is None else round(level, 1),
            **({"bulletin": item.extra["bulletin"]} if "bulletin" in item.extra else {}),
        })

    # ---- timers --------------------------------------------------------------------------------------------

    def timer(self, now: int, kind: str, arg: str) -> None:
        """A timer of the playout (`snd:<kind>:<arg>`); the desk routes the programme's own to itself."""
        if kind == "zone" and self.current is not None and int(arg) in self.current.zones:
            self._power(int(arg), True, now)
        elif kind == "go":
            self._go(now)
        elif kind == "tail":
            self._tail(now)
        elif kind == "max_on":
            self._max_on(now)
        elif kind == "renew":
            self._renew(now)
        elif kind == "until":
            self._expire(now, arg)
        elif kind in ("wake", "quiet"):
            self.advance(now)

    def _expire(self, now: int, play_id: str) -> None:
        item = self.find(play_id)
        if item is not None and (self.trusted or item.level == EMERGENCY):  # judged again when the time is trusted
            slot_done = item.jti is None and item.started_ms is not None  # a programme slot that ran its length
            self.end(item, now, "finished" if slot_done else "expired", "completed" if slot_done else "expired",
                     "ok" if slot_done else "expired", "its time window ended")
            self.advance(now)

    def _max_on(self, now: int) -> None:
        """The hard limit: whatever plays is cut and every amplifier goes off."""
        if self.current is not None:
            self.end(self.current, now, "failed", "failed", "max_on_time",
                     f"amplifier on for {self.s.max_on_s} s, the unit's hard limit")
        for zone in sorted(self.powered):
            self._power(zone, False, now)
        self.advance(now)
