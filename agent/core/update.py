"""The update desk of the core: takes a signed `update` command through download, release checks, install into the
inactive slot and a restart into it; in the new version, runs the health check (connected, a report acknowledged
by the broker after the retained status went out, the relay path switched and read back) and keeps the release, or
asks for a roll-back. Every step is an ack on the command and an `update_*` event.

Pure: file work is asked for with effects (agent.adapters.system.release_slots carries them out); what the unit booted
into is given in `BootInfo`. Must not import adapters, the runtime or any I/O module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, assert_never

from agent.core import release
from agent.core.effects import ClearOutcome, FetchRelease, InstallRelease, KeepRelease, RollBack, StartTrial
from agent.core.events import (
    ClockSyncChanged,
    Event,
    Fault,
    HardwareFailed,
    LevelObserved,
    LinkDown,
    LinkUp,
    LocalAction,
    MessageArrived,
    OutboxChanged,
    PlayerEvent,
    Prepared,
    PrepareFailed,
    RelayObserved,
    ReleaseFetched,
    ReleaseInstalled,
    ReleaseStepFailed,
    SnapshotTaken,
    Started,
    Telemetry,
    TimerFired,
    UnitReadings,
)
from agent.core.verify import Command, TrustSet
from agent.ports import SwitchingHost

PREFIX = "upd:"
SLOTS = ("a", "b")
FLOOR_KEY = "release_floor"
JOB_KEY = "update_job"  # an update between `accepted` and its restart: reported as interrupted if the unit restarts


@dataclass(frozen=True)
class BootInfo:
    """What this process booted into, read by the composition root before the core starts."""

    slot: str = "base"  # a, b, or base (the installed package, before any update)
    supervised: bool = False  # started by agent.app.launcher, which restarts it into a new slot and rolls back
    trial: dict[str, Any] | None = None  # the trial marker: {jti, version, slot, previous, from_version, state}
    outcome: dict[str, Any] | None = None  # a rolled-back update still to report: {jti, code, msg, version}


@dataclass(frozen=True)
class UpdateSettings:
    trust: TrustSet | None = None  # the release keys (never a command key); None: updates are refused
    check_s: int = 60  # the new version must pass its health check within this time
    test_zone: int = 1  # the relay switched and read back in the health check
    boot: BootInfo = field(default_factory=BootInfo)


Host = SwitchingHost  # what the update desk needs from the device core (relay path check)


def inactive_slot(running: str) -> str:
    """The slot an update installs into: never the one running (base counts as neither)."""
    return "b" if running == "a" else "a"


def floor_of(saved: dict[str, Any], running_version: str) -> str:
    """The anti-rollback floor: the newest of the version kept last and the version running now."""
    kept = saved.get(FLOOR_KEY)
    return kept if isinstance(kept, str) and not release.newer(running_version, kept) else running_version


@dataclass
class Job:
    """An update command on its way through this process."""

    jti: str
    iat: int
    step: str = "fetch"
    version: str = ""


@dataclass
class Trial:
    """The health check of a newly installed release, in the process that runs it."""

    marker: dict[str, Any]
    linked: bool = False
    acked: bool = False
    relay: str = "on"  # on: waiting to read it on; off: waiting to read it off; ok


class UpdateDesk:
    def __init__(self, settings: UpdateSettings, host: Host, saved: dict[str, Any], version: str) -> None:
        self.s, self.host, self.version = settings, host, version
        self.floor = floor_of(saved, version)
        self.unfinished = saved.get(JOB_KEY) if isinstance(saved.get(JOB_KEY), dict) else None
        self.job: Job | None = None
        self.trial: Trial | None = None

    # ---- the command ---------------------------------------------------------------------------------------

    def command(self, c: Command, now: int) -> None:
        refusal = self._refusal()
        if refusal:
            self.host.ack(now, c.jti, c.cmd, "rejected", *refusal)
            return
        self.job = Job(c.jti, c.iat)
        self.host.save(JOB_KEY, {"jti": c.jti})
        self.host.ack(now, c.jti, c.cmd, "accepted", "ok", "update accepted; downloading the release bundle")
        self._event(now, "update_started", jti=c.jti, url=c.args["url"])
        self.host.emit(FetchRelease(c.jti, c.args["url"], c.args["sha256"]))

    def _refusal(self) -> tuple[str, str] | None:
        if self.s.trust is None:
            return ("update_disabled", "this unit trusts no release key ([update] trust is not set)")
        if not self.s.boot.supervised:
            return ("update_unsupported", "the agent was not started by agent.app.launcher, so it cannot switch releases")
        if self.job is not None or self.trial is not None:
            return ("update_busy", "another update is under way on this unit")
        return None

    # ---- events --------------------------------------------------------------------------------------------

    def awaits_puback(self) -> bool:
        """A release on trial counts as healthy once a report is confirmed after the link came up."""
        return bool(self.trial and self.trial.linked)

    def observe(self, event: Event) -> None:
        """Every event passes here; the desk takes what concerns an update or a health check."""
        match event:
            case Started(now_ms=now):
                self._booted(now)
            case ReleaseFetched() | ReleaseInstalled() | ReleaseStepFailed():
                self._job_event(event)
            case TimerFired(now_ms=now, name=name):
                if name == PREFIX + "check":
                    self._check_timeout(now)
            case LinkUp(now_ms=now):
                if self.trial:
                    self.trial.linked = True
                    self._check_done(now)
            case OutboxChanged(now_ms=now):
                if self.trial and self.awaits_puback():
                    self.trial.acked = True  # only a PUBACK reports a change after the link is up
                    self._check_done(now)
            case RelayObserved(now_ms=now, zone=zone, on=on):
                if self.trial and zone == self.s.test_zone:
                    self._relay_read(now, on)
            case (LinkDown() | MessageArrived() | ClockSyncChanged() | Fault() | HardwareFailed() | Telemetry() | Prepared()
                  | PrepareFailed() | PlayerEvent() | LevelObserved() | LocalAction() | SnapshotTaken() | UnitReadings()):
                pass  # nothing an update or its health check waits for
            case _:
                assert_never(event)

    def _job_event(self, event: ReleaseFetched | ReleaseInstalled | ReleaseStepFailed) -> None:
        job = self.job
        if job is None or job.jti != event.update_id:
            return  # a late answer for an update that already ended
        match event:
            case ReleaseFetched():
                self._fetched(event, job)
            case ReleaseInstalled(now_ms=now, slot=slot):
                self._installed(now, job, slot)
            case ReleaseStepFailed(now_ms=now, code=code, msg=msg):
                self._fail(now, code, msg)
            case _:
                assert_never(event)

    def _fetched(self, e: ReleaseFetched, job: Job) -> None:
        assert self.s.trust is not None
        meta = release.read_release(e.token, self.s.trust)
        if isinstance(meta, release.ReleaseMeta):
            now_s = max(e.now_ms // 1000, job.iat)  # a signed command's iat bounds a clock that is behind
            problem = release.check_payload(meta, e.payload_sha256, e.payload_bytes) or \
                release.check_release(meta, now_s=now_s, floor=self.floor)
        else:
            problem = meta
        if problem is not None:
            self._fail(e.now_ms, problem.code, problem.msg)
            return
        assert isinstance(meta, release.ReleaseMeta)
        job.step, job.version = "install", meta.version
        slot = inactive_slot(self.s.boot.slot)
        self._event(e.now_ms, "update_verified", jti=job.jti, version=meta.version, slot=slot)
        self.host.emit(InstallRelease(job.jti, slot, meta.as_dict()))

    def _installed(self, now: int, job: Job, slot: str) -> None:
        marker = {"jti": job.jti, "version": job.version, "slot": slot, "previous": self.s.boot.slot,
                  "from_version": self.version, "state": "pending"}
        self.host.ack(now, job.jti, "update", "started", "ok", f"release {job.version} installed in slot {slot}; "
                      "restarting into it")
        self._event(now, "update_installed", jti=job.jti, version=job.version, slot=slot)
        self.host.log("info", "update_restarting", ver=job.version, slot=slot)
        job.step = "restart"  # the job stays saved: until the marker is on disk, a restart means "interrupted"
        self.host.emit(StartTrial(marker))

    def _fail(self, now: int, code: str, msg: str) -> None:
        job, self.job = self.job, None
        if job is None:
            return
        self.host.save(JOB_KEY, None)
        self.host.ack(now, job.jti, "update", "failed", code, msg)
        self._event(now, "update_failed", jti=job.jti, code=code, msg=msg)
        self.host.log("warning", "update_refused", code=code, reason=msg)

    # ---- after a restart -----------------------------------------------------------------------------------

    def _booted(self, now: int) -> None:
        boot = self.s.boot
        self._interrupted(now)
        if boot.outcome:
            self._report_rollback(now, boot.outcome)
        marker = boot.trial
        if marker and marker.get("state") == "trying" and marker.get("slot") == boot.slot:
            self._start_trial(now, marker)

    def _interrupted(self, now: int) -> None:
        """An update that was under way when the unit restarted (a kill, a power cut) and left no marker ends here."""
        job, self.unfinished = self.unfinished, None
        if job is None:
            return
        self.host.save(JOB_KEY, None)
        carried = {m.get("jti") for m in (self.s.boot.trial, self.s.boot.outcome) if m}
        if job.get("jti") not in carried:
            self.host.ack(now, job.get("jti"), "update", "failed", "update_interrupted",
                          "the unit restarted before the update was installed; send it again")

    def _report_rollback(self, now: int, outcome: dict[str, Any]) -> None:
        code, msg = str(outcome.get("code", "update_failed")), str(outcome.get("msg", ""))
        jti = outcome.get("jti") if isinstance(outcome.get("jti"), str) else None
        self.host.ack(now, jti, "update", "failed", code, f"rolled back to {self.version}: {msg}")
        self._event(now, "update_rolled_back", jti=jti, version=outcome.get("version"), running=self.version,
                    code=code, msg=msg)
        self.host.log("error", "update_rolled_back", ver=str(outcome.get("version")), running=self.version, reason=msg)
        self.host.emit(ClearOutcome())

    def _start_trial(self, now: int, marker: dict[str, Any]) -> None:
        self.trial = Trial(dict(marker))
        self.host.timer(PREFIX + "check", now + self.s.check_s * 1000)
        self._event(now, "update_checking", jti=marker.get("jti"), version=self.version, slot=self.s.boot.slot)
        self.host.switch(self.s.test_zone, True)

    def _relay_read(self, now: int, on: bool) -> None:
        trial = self.trial
        assert trial is not None
        if trial.relay == "ok":
            return
        if on != (trial.relay == "on"):
            self.host.switch(self.s.test_zone, False)
            self._trial_failed(now, f"relay path: zone {self.s.test_zone} was switched {trial.relay} but reads "
                               f"{'on' if on else 'off'}")
            return
        if trial.relay == "on":
            trial.relay = "off"
            self.host.switch(self.s.test_zone, False)
        else:
            trial.relay = "ok"
            self._check_done(now)

    def _check_done(self, now: int) -> None:
        trial = self.trial
        if trial is None or not (trial.linked and trial.acked and trial.relay == "ok"):
            return
        self.trial = None
        self.host.cancel(PREFIX + "check")
        self.floor = self.version
        self.host.save(FLOOR_KEY, self.version)
        self.host.emit(KeepRelease())
        jti = trial.marker.get("jti")
        self.host.ack(now, jti, "update", "finished", "ok", f"running {self.version} from slot {self.s.boot.slot}")
        self._event(now, "update_succeeded", jti=jti, version=self.version, slot=self.s.boot.slot,
                    previous=trial.marker.get("from_version"))
        self.host.log("info", "update_kept", ver=self.version, slot=self.s.boot.slot)

    def _check_timeout(self, now: int) -> None:
        trial = self.trial
        if trial is None:
            return
        checks = (("connected", trial.linked), ("a report acknowledged by the broker", trial.acked),
                  ("the relay path tested", trial.relay == "ok"))
        missing = ", ".join(what for what, ok in checks if not ok)
        self._trial_failed(now, f"not healthy within {self.s.check_s} s: missing {missing}")

    def _trial_failed(self, now: int, msg: str) -> None:
        trial, self.trial = self.trial, None
        assert trial is not None
        self.host.cancel(PREFIX + "check")
        jti = trial.marker.get("jti")
        self._event(now, "update_check_failed", jti=jti, version=self.version, msg=msg)
        self.host.log("error", "update_check_failed", ver=self.version, reason=msg)
        self.host.emit(RollBack({"jti": jti, "code": "update_check_failed", "msg": msg, "version": self.version}))

    # ---- reports -------------------------------------------------------------------------------------------

    def _event(self, now: int, name: str, **detail: Any) -> None:
        self.host.report(now, "event", {"event": name, "ts": now, "detail": detail})
