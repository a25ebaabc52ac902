"""The unit desk of the core: the commands about the unit itself — ping, logs, relay (a timed test of one zone),
volume, config and reboot — next to the sound, board and update desks; and the relays: switching and their read-back.

Pure: it returns effects through its host (the Device). Must not import adapters, runtime or any I/O module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from agent.core import reports
from agent.core.arbiter import EMERGENCY, Item
from agent.core.device_state import DeviceSettings, DeviceState
from agent.core.effects import Publish, Reboot, SaveSetting, SetRelay
from agent.core.log_request import select
from agent.core.verify import Command, TrustError, TrustSet, load_trust
from agent.ports import SwitchingHost

PREFIX = "relay:"  # timers that end a relay test, one per zone
REBOOT_TIMER = "reboot"


class Host(SwitchingHost, Protocol):
    """What the unit desk needs from the device core, beyond any desk's needs: the settings and trust it changes."""

    settings: DeviceSettings
    keys: TrustSet

    def reply(self, now: int, jti: str | None, cmd: str | None, state: str, code: str, msg: str) -> None: ...
    def fault(self, name: str, active: bool, detail: str) -> None: ...
    def event(self, now: int, name: str, **detail: Any) -> None: ...
    def topic(self, kind: str) -> str: ...
    def volume_changed(self, volume_pct: int) -> None: ...


class UnitDesk:
    def __init__(self, host: Host, state: DeviceState, playing: Callable[[], Item | None] = lambda: None) -> None:
        self.host, self.state, self.playing = host, state, playing
        self._reboot: Command | None = None  # the reboot command waiting for its delay

    def commands(self) -> dict[str, Callable[[Command, int], None]]:
        return {"ping": self.ping, "relay": self.relay, "volume": self.volume, "config": self.config,
                "logs": self.logs, "reboot": self.reboot}

    def ping(self, c: Command, now: int) -> None:
        self.host.reply(now, c.jti, c.cmd, "accepted", "ok", "ping accepted")
        self.host.reply(now, c.jti, c.cmd, "finished", "ok", "pong")
        self.state.status_dirty = True

    def logs(self, c: Command, now: int) -> None:
        kind = c.args.get("kind", "lines")
        entries = select(self.state.playlogs if kind == "playlog" else self.state.log_lines, c.args)
        self.host.reply(now, c.jti, c.cmd, "accepted", "ok", "logs requested")
        body = {"dev": self.host.settings.device_id, "jti": c.jti, "kind": kind, "entries": entries}
        self.host.emit(Publish(self.host.topic("logs"), reports.encode(body), qos=1))
        self.host.reply(now, c.jti, c.cmd, "finished", "ok", f"sent {len(entries)} {kind} entries")

    def reboot(self, c: Command, now: int) -> None:
        """Accepted now, done after `delay_s` (the acks reach the broker first); an emergency on air is never cut."""
        if self._emergency_on():
            self.host.ack(now, c.jti, c.cmd, "rejected", "busy", "an emergency is playing: reboot refused")
            return
        delay_s = c.args.get("delay_s", 5)
        self.host.reply(now, c.jti, c.cmd, "accepted", "ok", f"rebooting in {delay_s} s")
        self.host.log("warning", "reboot_requested", jti=c.jti, reason=c.args.get("reason", "-"), delay_s=delay_s)
        self._reboot = c
        self.host.timer(REBOOT_TIMER, now + delay_s * 1000)

    def _emergency_on(self) -> bool:
        item = self.playing()
        return item is not None and item.level == EMERGENCY

    def reboot_due(self, now: int) -> None:
        c, self._reboot = self._reboot, None
        if c is None:
            return
        if self._emergency_on():  # one arrived meanwhile: it plays, the reboot is dropped
            self.host.reply(now, c.jti, c.cmd, "failed", "busy", "an emergency is playing: reboot dropped")
            return
        self.host.reply(now, c.jti, c.cmd, "finished", "ok", "rebooting now")
        for zone in self.state.relays:
            self.switch(zone, False)
        self.host.emit(Reboot())

    # ---- relays ------------------------------------------------------------------------------------------------

    def switch(self, zone: int, on: bool) -> None:
        if self.state.relays.get(zone) != on:
            self.state.relays[zone] = on
            self.state.status_dirty = True
        self.host.emit(SetRelay(zone, on))

    def observed(self, now: int, zone: int, on: bool) -> None:
        """Read-back after a switch: a relay that does not follow its command is stuck (welded contact, dead coil)."""
        st = self.state
        st.observed[zone] = on
        wanted = st.relays.get(zone, False)
        if on != wanted and zone not in st.stuck:
            st.stuck.add(zone)
            self.host.event(now, "relay_stuck", zone=zone, commanded=wanted, actual=on)
            self.host.log("error", "relay_stuck", zone=zone, commanded=wanted, actual=on)
            self.host.fault("relay", True, f"zone {zone}")
        elif on == wanted and zone in st.stuck:
            st.stuck.discard(zone)
            if not st.stuck:
                self.host.fault("relay", False, "")

    # ---- relay test --------------------------------------------------------------------------------------------

    def relay(self, c: Command, now: int) -> None:
        zone = int(c.args["zone"])
        if zone not in self.state.relays:
            self.host.ack(now, c.jti, c.cmd, "rejected", "bad_args", f"zone {zone} is not wired on this unit")
            return
        self._end_relay_job(now, zone, "stopped", f"replaced by command {c.jti}")
        self.host.reply(now, c.jti, c.cmd, "accepted", "ok", "relay command accepted")
        self.switch(zone, bool(c.args["on"]))
        if c.args["on"]:
            for_s = float(c.args.get("for_s", 10))
            self.state.relay_jobs[zone] = c
            self.host.timer(f"{PREFIX}{zone}", now + int(for_s * 1000))
            self.host.reply(now, c.jti, c.cmd, "started", "ok", f"zone {zone} on for {for_s:g} s")
            self.host.log("info", "relay_test_on", zone=zone, for_s=for_s)
        else:
            self.host.cancel(f"{PREFIX}{zone}")
            self.host.reply(now, c.jti, c.cmd, "finished", "ok", f"zone {zone} off")

    def timer(self, now: int, name: str) -> None:
        """A relay test ran its time: the zone goes off."""
        zone = int(name[len(PREFIX):])
        self.switch(zone, False)
        self._end_relay_job(now, zone, "finished", f"zone {zone} off after its test time")
        self.host.log("info", "relay_test_off", zone=zone)

    def _end_relay_job(self, now: int, zone: int, state: str, msg: str) -> None:
        job = self.state.relay_jobs.pop(zone, None)
        if job is not None:
            self.host.reply(now, job.jti, job.cmd, state, "ok", msg)

    # ---- settings ----------------------------------------------------------------------------------------------

    def volume(self, c: Command, now: int) -> None:
        wanted = int(c.args["volume_pct"])
        volume = min(wanted, self.host.settings.max_volume_pct)
        self.host.settings = replace(self.host.settings, volume_pct=volume)
        self.host.volume_changed(volume)
        self.host.emit(SaveSetting("volume_pct", volume))
        self.state.status_dirty = True
        note = f" (capped at {volume})" if volume < wanted else ""
        self.host.reply(now, c.jti, c.cmd, "accepted", "ok", "volume command accepted")
        self.host.reply(now, c.jti, c.cmd, "finished", "ok", f"volume set to {volume}%{note}")

    def config(self, c: Command, now: int) -> None:
        if "trust" in c.args:
            try:
                self.host.keys = load_trust(c.args["trust"])
            except TrustError as exc:
                self.host.ack(now, c.jti, c.cmd, "rejected", "bad_args", f"trust: {exc}")
                return
        self.host.reply(now, c.jti, c.cmd, "accepted", "ok", "config command accepted")
        self._apply_config(c.args, now)
        for key, value in sorted(c.args.items()):
            self.host.emit(SaveSetting(key, value))
        self.host.event(now, "config_changed", keys=sorted(c.args))
        self.host.log("info", "config_changed", keys=", ".join(sorted(c.args)))
        self.host.reply(now, c.jti, c.cmd, "finished", "ok", f"applied: {', '.join(sorted(c.args))}")

    def _apply_config(self, args: dict[str, Any], now: int) -> None:
        host = self.host
        if "issuers" in args:
            host.settings = replace(host.settings, policy=replace(host.settings.policy, issuers=frozenset(args["issuers"])))
        if "heartbeat_s" in args:
            host.settings = replace(host.settings, heartbeat_s=int(args["heartbeat_s"]))
            host.timer("hb", now + host.settings.heartbeat_s * 1000)
        self.state.status_dirty = True
