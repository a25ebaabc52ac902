"""Builds the unit's hardware for the composition root: the one factory that chooses the relay adapter for a kind of
board described in hw/ (or the fake relays), the modem's telemetry, and the co-processor's duties on the loop.

The catalog (agent.catalog) reads hw/ into data; this module turns that data into each adapter's own settings, so
no adapter sees a catalog object and the catalog knows no adapter. A hardware library is imported only by its
adapter, and an adapter only when a board of its kind is opened. Holds no decisions.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.catalog.boards import Board, Channel, load_board, load_modem
from agent.config.unit import Config
from agent.core.backoff import Backoff
from agent.core.events import Event, Fault, LevelObserved, Telemetry, UnitReadings
from agent.errors import ConfigError, HardwareError, LoaError
from agent.fakes.relays import FakeRelays
from agent.ports import Relays
from agent.runtime.loop import Loop

if TYPE_CHECKING:
    from gpiozero.pins import Factory

    from agent.adapters.relays.coproc_relays import CoprocRelays
    from agent.adapters.relays.serial_boundary import PortSettings
    from agent.adapters.system.modem_at import ModemAT
    from agent.adapters.system.unit_sensors import UnitSensors

log = logging.getLogger("loa.agent")
REOPEN_AFTER_S = 3.0  # longer than the firmware's heartbeat timeout (2 s): by then it has cut its relays itself
Post = Callable[[Callable[[int], Event]], None]  # hands an event factory to the loop (an inbox's post_event)
Observe = Callable[[str, int, int], None]  # a time source's reading for the agent's clock: (source, true_ms, error_ms)


# ---- relays ----------------------------------------------------------------------------------------------------


def relays_for(cfg: Config, loop: Loop, post: Post) -> Relays:
    """The unit's relays from [hardware]: the fake ones (with their journal), or the board named there; a
    co-processor's duties (heartbeat, levels) start on the loop with it, even when it does not answer yet."""
    hw = cfg.hardware
    if hw.relays == "fake":
        return FakeRelays(hw.zones, journal=cfg.state_dir / "fake-relays.jsonl")
    try:
        board = load_board(hw.board)
        if board.kind != "coproc":
            return open_relays(board, zones=hw.zones, serial_url=hw.serial_url or None)
        relays = LateCoproc(partial(open_coproc, board, _need_url(board, hw.serial_url or None), zones=hw.zones),
                            board.coproc.heartbeat_interval_s if board.coproc else 0.5)
        relays.opened()
    except HardwareError as exc:
        if board.kind != "coproc":
            raise
        log.error("%s", exc)  # the co-processor does not answer yet: the unit runs, and its duties try again
    except LoaError as exc:
        raise ConfigError(f"hardware.board: {exc}") from None
    attach_coproc(loop, relays, post)
    return relays


class LateCoproc:
    """The co-processor's relays, opened on first use and opened again after a long silence: a co-processor that does
    not answer at start (or is being flashed), or whose port went away (a USB reset, a restarted host firmware), must
    not keep the unit off the air. Opening is tried again with capped backoff (each try costs the loop a serial
    timeout; in between an operation fails at once); its other duties (renewals, counters) go to the opened board."""

    def __init__(self, opener: Callable[[], CoprocRelays], heartbeat_interval_s: float) -> None:
        self._opener = opener
        self._relays: CoprocRelays | None = None
        self._failed: tuple[float, str] | None = None  # when to try opening again, and why the last try failed
        self._silent_since: float | None = None  # the first failure of the opened board since it last answered
        self._backoff = Backoff(1.0, 10.0, random.Random())
        self.heartbeat_interval_s = heartbeat_interval_s

    def opened(self) -> CoprocRelays:
        if self._relays is not None:
            return self._relays
        if self._failed is not None and time.monotonic() < self._failed[0]:
            raise HardwareError(self._failed[1])
        try:
            self._relays = self._opener()
        except HardwareError as exc:
            self._failed = (time.monotonic() + self._backoff.next_delay_s(), str(exc))
            raise
        self._backoff.reset()
        return self._relays

    def set(self, zone: int, on: bool) -> None:
        self._use(lambda r: r.set(zone, on))

    def read(self, zone: int) -> bool:
        return bool(self._use(lambda r: r.read(zone)))

    def heartbeat(self) -> int:
        return int(self._use(lambda r: r.heartbeat()))

    def levels(self) -> list[float | None]:
        return list(self._use(lambda r: r.levels()))

    def emergency_renew(self, zones: Iterable[int] | None = None) -> list[int]:
        """Its own method, not the delegation below: the runtime asks at start whether the relays have an on-time
        limit, and that question must not open a co-processor that is not answering yet."""
        return list(self._use(lambda r: r.emergency_renew(zones)))

    def close(self) -> None:
        if self._relays is not None:
            self._relays.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.opened(), name)

    def _use(self, op: Callable[[CoprocRelays], Any]) -> Any:
        relays = self.opened()
        try:
            result = op(relays)
        except HardwareError as exc:
            now = time.monotonic()
            self._silent_since = self._silent_since or now
            if now - self._silent_since > REOPEN_AFTER_S:
                self._reopen_later(relays, str(exc))
            raise
        self._silent_since = None
        return result

    def _reopen_later(self, relays: CoprocRelays, why: str) -> None:
        """Silent past its heartbeat timeout, the co-processor has cut the relays already: opening it afresh (all
        off, then the core sends the commanded state again) loses nothing, and is the only way back from a port
        that went away."""
        with contextlib.suppress(HardwareError):
            relays.close()
        self._relays, self._silent_since = None, None
        self._failed = (time.monotonic() + self._backoff.next_delay_s(), why)


def open_relays(board: Board | str, *, zones: Iterable[int] | None = None, pin_factory: Factory | None = None,
                serial_url: str | None = None) -> Relays:
    """The relay adapter for the board's kind, switched all off."""
    if isinstance(board, str):
        board = load_board(board)
    wiring = board.wiring(zones)
    if board.kind == "gpio":
        from agent.adapters.relays.gpio_relays import GpioRelays

        assert board.gpio is not None
        return GpioRelays(_addresses(wiring), active_high=board.gpio.active_high, pin_factory=pin_factory)
    url = _need_url(board, serial_url)
    if board.kind == "serial":
        from agent.adapters.relays.serial_relays import LcusCodes, SerialRelays

        assert board.lcus is not None
        return SerialRelays(url, _addresses(wiring), link=_port(board), protocol=LcusCodes(**asdict(board.lcus)))
    if board.kind == "modbus":
        from agent.adapters.relays.modbus_relays import ModbusOptions, ModbusRelays

        assert board.modbus is not None
        return ModbusRelays(url, _addresses(wiring), link=_port(board), settings=ModbusOptions(**asdict(board.modbus)))
    return open_coproc(board, url, zones=wiring)


def open_coproc(board: Board | str, serial_url: str, *, zones: Iterable[int] | None = None) -> CoprocRelays:
    """The co-processor's relays (its own type: it also has a heartbeat, levels, renewals and counters)."""
    from agent.adapters.relays.coproc_relays import CoprocRelays, CoprocWiring

    if isinstance(board, str):
        board = load_board(board)
    if board.serial is None or board.coproc is None:
        raise ConfigError(f"hardware.board: {board.name!r} is a {board.kind} board, not a co-processor")
    wiring = board.wiring(zones)
    zone_of = {channel.number: zone for zone, channel in wiring.items()}
    sensors = tuple((s.index, zone_of.get(s.channel)) for s in board.sensors)
    return CoprocRelays(serial_url, CoprocWiring(
        bits=_addresses(wiring), port=_port(board), sensors=sensors, protocol=board.coproc.protocol,
        heartbeat_interval_s=board.coproc.heartbeat_interval_s))


def is_coproc(cfg: Config) -> bool:
    return cfg.hardware.relays == "board" and load_board(cfg.hardware.board).kind == "coproc"


def coproc_on_time(cfg: Config) -> tuple[int, float] | None:
    """On a co-processor board, (its maximum on-time, the renewal period): the firmware cuts any relay on for
    hardware.coproc_max_on_s (its MAX_ON_MS) unless renewed, so the unit's own limit is never longer and plays the
    core lets outlast it (agent.core.on_time) renew at the board's renew_interval_s, at most a third of it.
    The renewal is not a blind keep-alive here: it would also keep on what the core is about to cut."""
    if not is_coproc(cfg):
        return None
    coproc = load_board(cfg.hardware.board).coproc
    assert coproc is not None
    max_on_s = cfg.hardware.coproc_max_on_s
    return max_on_s, min(coproc.renew_interval_s, max_on_s / 3)


def _port(board: Board) -> PortSettings:
    from agent.adapters.relays.serial_boundary import PortSettings

    assert board.serial is not None
    return PortSettings(**asdict(board.serial))


def _addresses(wiring: Mapping[int, Channel]) -> dict[int, int]:
    return {zone: channel.address for zone, channel in wiring.items()}


def _need_url(board: Board, serial_url: str | None) -> str:
    if not serial_url:
        raise ConfigError(f"hardware.serial_url: board {board.name!r} is a {board.kind} board and needs its port "
                          "(a pySerial URL: /dev/serial/by-id/..., /dev/ttyUSB0, socket://host:port)")
    return serial_url


# ---- duties on the loop and the modem's thread -----------------------------------------------------------------


class PartFault:
    """A part's fault as its periodic duties see it: reported once when it appears (the first failure) and once when
    it clears (the first success after), not at every beat."""

    def __init__(self, report: Callable[[bool, str], None]) -> None:
        self.report, self.active = report, False

    def failed(self, exc: LoaError) -> None:
        if not self.active:
            self.active = True
            log.error("%s", exc)
            self.report(True, str(exc))

    def ok(self) -> None:
        if self.active:
            self.active = False
            self.report(False, "")


def every(loop: Loop, period_s: float, duty: Callable[[], object], fault: PartFault) -> None:
    """Run a hardware duty on the loop at a fixed period; a failure is the part's fault and the duty goes on (the
    heartbeat keeps its pace: it is what keeps the co-processor's relays allowed)."""
    def tick() -> None:
        loop.call_later(period_s, tick)
        try:
            duty()
        except LoaError as exc:
            fault.failed(exc)
        else:
            fault.ok()

    loop.call_later(0.0, tick)


def attach_coproc(loop: Loop, relays: LateCoproc, post: Post) -> None:
    """The host heartbeat keeps the co-processor's fail-safe from cutting the relays; levels are proof of play. A
    co-processor that stops answering is the `coproc` fault until it answers again."""
    fault = PartFault(lambda active, detail: post(lambda now: Fault(now, "coproc", active, detail)))
    every(loop, relays.heartbeat_interval_s, relays.heartbeat, fault)

    def level() -> None:
        measured = [v for v in relays.levels() if v is not None]
        post(lambda now: LevelObserved(now, max(measured, default=None)))

    every(loop, 1.0, level, fault)


def open_modem(serial_url: str, name: str, *, timeout_s: float | None = None) -> ModemAT:
    """The AT port of the modem described in hw/modems/<name>.toml; its GNSS only where the data says it has one."""
    from agent.adapters.system.modem_at import ModemAT, ModemCommands

    p = load_modem(name)
    gnss = {"gnss_on": p.gnss_on, "gnss_time": p.gnss_time, "gnss_reply": p.gnss_reply,
            "gnss_format": p.gnss_format} if p.gnss else {}
    commands = ModemCommands(signal=p.signal, operator=p.operator, registration=p.registration, iccid=p.iccid,
                             iccid_reply=p.iccid_reply, baudrate=p.baudrate, timeout_s=p.timeout_s,
                             time_setup=p.time_setup, network_time=p.network_time,
                             network_time_reply=p.network_time_reply, network_time_local=p.network_time_local, **gnss)
    return ModemAT(serial_url, commands, timeout_s=timeout_s)


def start_modem_poller(cfg: Config, post: Post, observe: Observe) -> threading.Thread | None:
    """A query can block for seconds on a slow modem, so it runs on its own thread, never on the loop. The modem's
    network time and GNSS time go straight to the agent's clock (`observe`, thread-safe) as they are read."""
    hw = cfg.hardware
    if not hw.modem_url:
        return None
    modem = open_modem(hw.modem_url, hw.modem)
    fault = PartFault(lambda active, detail: post(lambda now: Fault(now, "modem", active, detail)))
    backoff = Backoff(min(5.0, hw.modem_poll_s), hw.modem_poll_s, random.Random())

    def poll() -> None:
        while True:
            time.sleep(poll_once(modem, post, fault, backoff, hw.modem_poll_s, observe))

    thread = threading.Thread(target=poll, name="modem", daemon=True)
    thread.start()
    return thread


def poll_once(modem: ModemAT, post: Post, fault: PartFault, backoff: Backoff, period_s: float,
              observe: Observe | None = None) -> float:
    """One query (and the modem's time); the seconds to wait before the next: the period, or a capped backoff after
    a failure."""
    try:
        telemetry = modem.query()
        if observe is not None:
            modem.observe_time(observe)
    except LoaError as exc:
        fault.failed(exc)
        return backoff.next_delay_s()
    fault.ok()
    backoff.reset()
    post(partial(Telemetry, modem=telemetry))
    return period_s


# ---- the unit's health sensors (hw/monitors) -------------------------------------------------------------------


def open_unit_sensors(cfg: Config, pin_factory: Factory | None = None) -> UnitSensors:
    """The readers the monitor's data describes, over `[hardware] sysfs_root` when one is given (a stand-in for /)."""
    from agent.adapters.system.unit_sensors import UnitSensors, file_flag, hwmon_watts, link_type
    from agent.catalog.monitors import load_monitor

    hw, m = cfg.hardware, load_monitor(cfg.hardware.monitor)
    root = Path(hw.sysfs_root and str(cfg.path(hw.sysfs_root)) or "/")
    mains: Callable[[], bool | None] | None = None
    if m.mains is not None and m.mains.kind == "gpio":
        from agent.adapters.system.mains_gpio import GpioMains

        mains = GpioMains(m.mains.bcm, active_high=m.mains.active_high, pin_factory=pin_factory)
    elif m.mains is not None:
        mains = file_flag(root / m.mains.path.lstrip("/"))
    amp = hwmon_watts(root / m.amp_power.hwmon_root.lstrip("/"), m.amp_power.hwmon_name) if m.amp_power else None
    return UnitSensors(cfg.state_dir, thermal_zone=root / m.thermal_zone.lstrip("/") if m.thermal_zone else None,
                       mains=mains, amp_w=amp,
                       link=partial(link_type, root / "proc/net/route", root / "sys/class/net"))


def start_sensor_poller(cfg: Config, post: Post, sensors: UnitSensors) -> threading.Thread:
    """Sensor files can block on a slow I2C bus, so they are read on their own thread, never on the loop."""
    def poll() -> None:
        while True:
            readings = sensors.read()
            post(partial(UnitReadings, readings=readings))
            time.sleep(cfg.hardware.sensors_poll_s)

    thread = threading.Thread(target=poll, name="sensors", daemon=True)
    thread.start()
    return thread
