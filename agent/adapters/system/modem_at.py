"""Modem telemetry over the 4G modem's AT port through a pySerial URL: signal, operator, registration, ICCID; and
the time the modem knows (the cellular network's NITZ time, GNSS where the modem has it; parsed in modem_time).

Commands come from the modem's data (hw/modems/*.toml). Tolerates command echo, unsolicited result codes and
line noise; a command answered ERROR leaves its field None; a modem that answers nothing is a HardwareError.
Its one library is pySerial; must not import the core.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import serial

from agent.adapters.relays.serial_boundary import serial_boundary
from agent.adapters.system.modem_time import GNSS_FORMATS, network_time_ms
from agent.errors import HardwareError

POLL_S = 0.01
REGISTRATION = {0: "unknown", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming",
                6: "home", 7: "roaming"}  # 3GPP TS 27.007 <stat>; 6/7 = registered for SMS only (LTE)
ERRORS = ("ERROR", "+CME ERROR:", "+CMS ERROR:")


def signal_dbm(rssi: int) -> int | None:
    """AT+CSQ <rssi> to dBm: 0..31 -> -113..-51 (2 dB steps), 100..191 -> -116..-25 (TD-SCDMA), else unknown."""
    if 0 <= rssi <= 31:
        return -113 + 2 * rssi
    if 100 <= rssi <= 191:
        return rssi - 216
    return None


def fields(line: str, prefix: str) -> list[str]:
    """The comma-separated values after `prefix` ("+CSQ: 18,99" -> ["18", "99"]); quotes are kept."""
    return [f.strip() for f in line[len(prefix):].split(",")]


@dataclass(frozen=True)
class Answer:
    lines: tuple[str, ...]  # information lines (echo and blank lines dropped; URCs are filtered by the parsers)
    error: str | None  # the final result when it was an error ("ERROR", "+CME ERROR: 10")

    def first(self, prefix: str) -> list[str] | None:
        """Fields of the first information line with this prefix, or None (error answer or no such line)."""
        if self.error is not None:
            return None
        return next((fields(line, prefix) for line in self.lines if line.startswith(prefix)), None)


@dataclass(frozen=True)
class ModemCommands:
    """The modem's AT dialect (from its data in hw/modems): what to send for each reading, and the port's pace."""

    signal: str
    operator: str
    registration: tuple[str, ...]
    iccid: str
    iccid_reply: str
    baudrate: int = 115200
    timeout_s: float = 1.0
    time_setup: str = ""  # sent once per opening (SIMCom AT+CTZU=1: let NITZ set the modem's clock)
    network_time: str = ""  # empty: the modem's network time is not read
    network_time_reply: str = ""
    network_time_local: bool = False  # the answer is local time: its zone is subtracted
    gnss_on: str = ""  # turns the GNSS engine on (answered ERROR when it already is: ignored)
    gnss_time: str = ""  # empty: no GNSS
    gnss_reply: str = ""
    gnss_format: str = ""  # a key of modem_time.GNSS_FORMATS


Observe = Callable[[str, int, int], None]  # (source, true_ms, error_ms), told as soon as the modem answered
NETWORK, GNSS = "network", "gps"
NETWORK_ERROR_MS = 2000  # NITZ carries whole seconds, and networks send it with some delay
GNSS_ERROR_MS = 1000  # the fix's own time, up to a second old


def _boundary(url: str, what: str) -> AbstractContextManager[None]:
    return serial_boundary("modem", url, what)


class ModemAT:
    """One AT port; opened on the first query and reopened after a failure (a USB modem may re-enumerate)."""

    def __init__(self, serial_url: str, profile: ModemCommands, *, timeout_s: float | None = None) -> None:
        self.url = serial_url
        self.profile = profile
        self._timeout_s = timeout_s if timeout_s is not None else self.profile.timeout_s
        self._port: serial.SerialBase | None = None
        self._buf = bytearray()
        self._time_ready = False

    def query(self) -> dict[str, object]:
        """signal_dbm, operator, registration (home/roaming/searching/denied/unknown) and iccid; None = unknown."""
        try:
            self.command("ATE0")  # echo off; its own echo (and any later one) is skipped anyway
            return {"signal_dbm": self._signal(), "operator": self._operator(),
                    "registration": self._registration(), "iccid": self._iccid()}
        except HardwareError:
            self.close()
            raise

    def observe_time(self, observe: Observe) -> None:
        """The network's time and the GNSS time, each told to `observe` as soon as it is read; a modem without
        NITZ or without a fix tells nothing. HardwareError when the modem does not answer."""
        try:
            self._time_setup()
            if self.profile.network_time:
                self._observe(observe, NETWORK, self._network_ms(), NETWORK_ERROR_MS)
            if self.profile.gnss_time:
                self._observe(observe, GNSS, self._gnss_ms(), GNSS_ERROR_MS)
        except HardwareError:
            self.close()
            raise

    def command(self, cmd: str) -> Answer:
        """Send one command; wait for OK or an error. HardwareError when nothing final arrives in time."""
        port = self._open()
        with _boundary(self.url, cmd):
            port.reset_input_buffer()
            self._buf.clear()
            port.write(f"{cmd}\r".encode("ascii"))
            return self._answer(cmd, time.monotonic() + self._timeout_s)

    def close(self) -> None:
        self._time_ready = False
        if self._port is not None:
            self._port.close()
            self._port = None

    # ---- fields ----------------------------------------------------------------------------------------------

    def _signal(self) -> int | None:
        values = self.command(self.profile.signal).first("+CSQ:")
        return signal_dbm(int(values[0])) if values and values[0].isdigit() else None

    def _operator(self) -> str | None:
        values = self.command(self.profile.operator).first("+COPS:")
        return (values[2].strip('"') or None) if values and len(values) >= 3 else None

    def _registration(self) -> str:
        """The first registered answer among the commands (LTE first), else the first answer, else unknown."""
        states = [self._stat(cmd) for cmd in self.profile.registration]
        answered = [s for s in states if s is not None]
        registered = [s for s in answered if s in ("home", "roaming")]
        return (registered or answered or ["unknown"])[0]

    def _stat(self, cmd: str) -> str | None:
        prefix = cmd.removeprefix("AT").removesuffix("?") + ":"
        answer = self.command(cmd)
        solicited = [f for line in answer.lines if line.startswith(prefix) and (f := fields(line, prefix))
                     and len(f) >= 2 and f[1].isdigit()]  # a URC has one field, or a quoted one second
        if answer.error is not None or not solicited:
            return None
        return REGISTRATION.get(int(solicited[0][1]), "unknown")

    def _iccid(self) -> str | None:
        values = self.command(self.profile.iccid).first(self.profile.iccid_reply)
        digits = values[0].strip('"').rstrip("Ff") if values else ""
        return digits if digits.isdigit() else None

    # ---- time ------------------------------------------------------------------------------------------------

    def _time_setup(self) -> None:
        if not self._time_ready:
            for cmd in (self.profile.time_setup, self.profile.gnss_on):
                if cmd:
                    self.command(cmd)
            self._time_ready = True

    @staticmethod
    def _observe(observe: Observe, source: str, true_ms: int | None, error_ms: int) -> None:
        if true_ms is not None:
            observe(source, true_ms, error_ms)

    def _network_ms(self) -> int | None:
        answer = self.command(self.profile.network_time)
        reply = self.profile.network_time_reply
        line = next((x for x in answer.lines if x.startswith(reply)), None) if answer.error is None else None
        return None if line is None else network_time_ms(line[len(reply):], local=self.profile.network_time_local)

    def _gnss_ms(self) -> int | None:
        values = self.command(self.profile.gnss_time).first(self.profile.gnss_reply)
        return None if values is None else GNSS_FORMATS[self.profile.gnss_format](values)

    # ---- the line protocol -----------------------------------------------------------------------------------

    def _open(self) -> serial.SerialBase:
        if self._port is None:
            with _boundary(self.url, "open"):
                self._port = serial.serial_for_url(self.url, baudrate=self.profile.baudrate, timeout=POLL_S,
                                                   write_timeout=self._timeout_s)
        return self._port

    def _answer(self, cmd: str, deadline: float) -> Answer:
        lines: list[str] = []
        while True:
            line = self._line(cmd, deadline)
            if line == "OK":
                return Answer(tuple(lines), None)
            if line.startswith(ERRORS):
                return Answer(tuple(lines), line)
            if line and line != cmd:
                lines.append(line)

    def _line(self, cmd: str, deadline: float) -> str:
        assert self._port is not None
        while b"\n" not in self._buf:
            if time.monotonic() > deadline:
                raise HardwareError(f"modem {self.url}: no answer to {cmd} within {self._timeout_s} s")
            self._buf += self._port.read(self._port.in_waiting or 1)
        line, _, rest = bytes(self._buf).partition(b"\n")
        self._buf[:] = rest
        return line.decode("utf-8", errors="replace").strip()
