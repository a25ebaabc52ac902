"""A scripted 4G modem on a pseudo-terminal, answering AT commands the way a Quectel EC25 does (with echo,
URCs and line noise when asked), so the agent's pySerial code opens a real tty: `modem.path`.

Faults: `replies[cmd] = [...]` replaces an answer (e.g. ["+CME ERROR: 10"] for a missing SIM), `silent` holds
commands it never answers, `noise=True` sprinkles unsolicited result codes and garbage between and inside answers.

Time: `network_offset_s` is how far the network's NITZ time is from this machine's clock (None: no NITZ came, the
modem answers "" to AT+QLTS and its 1980 default to AT+CCLK?), `gnss_offset_s` the same for a GNSS fix (None: no
fix, +CME ERROR: 516 to AT+QGPSLOC=2, empty fields to AT+CGPSINFO); both answer in the Quectel and SIMCom dialects.
Imports only the stdlib (POSIX ptys); the agent must not import this module.
"""

from __future__ import annotations

import os
import random
import select
import threading
import time
import tty
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

URCS = (b"\r\nRDY\r\n", b"\r\n+CPIN: READY\r\n", b"\r\n+QIND: SMS DONE\r\n", b"\r\n+QUSIM: 1\r\n",
        b"\r\n+CREG: 5\r\n", b'\r\n+CEREG: 1,"1A2B","01C3D4E",7\r\n', b"\r\n\xff\xfe\x00garbage\r\n")


@dataclass
class ModemScript:
    """What the modem reports; answers() gives the information lines for one command, or None if unknown."""

    rssi: int = 18
    operator: str = "Viettel"
    creg: int = 1
    cereg: int = 1
    iccid: str = "89840480001234567890"
    iccid_command: str = "AT+QCCID"
    iccid_reply: str = "+QCCID:"
    replies: dict[str, list[str]] = field(default_factory=dict)
    network_offset_s: float | None = 0.0
    gnss_offset_s: float | None = None
    zone_quarters: int = 28  # Vietnam, UTC+7, as NITZ gives it

    def answers(self, cmd: str) -> list[str] | None:
        if cmd in self.replies:
            return self.replies[cmd]
        timed = self._time_answers(cmd)
        if timed is not None:
            return timed
        table = {"AT": [], "ATE0": [], "ATE1": [], "AT+CSQ": [f"+CSQ: {self.rssi},99"],
                 "AT+COPS?": [f'+COPS: 0,0,"{self.operator}",7' if self.operator else "+COPS: 0"],
                 "AT+CREG?": [f"+CREG: 0,{self.creg}"], "AT+CEREG?": [f"+CEREG: 0,{self.cereg}"],
                 self.iccid_command: [f"{self.iccid_reply} {self.iccid}"]}
        return [*table[cmd], "OK"] if cmd in table else None


    def _time_answers(self, cmd: str) -> list[str] | None:
        nitz, fix = _utc(self.network_offset_s), _utc(self.gnss_offset_s)
        zone = f"{self.zone_quarters:+03d}"
        local = nitz + timedelta(minutes=15 * self.zone_quarters) if nitz else None
        table = {
            "AT+QLTS=1": [f'+QLTS: "{nitz:%Y/%m/%d,%H:%M:%S}{zone},0"' if nitz else '+QLTS: ""'],
            "AT+CCLK?": [f'+CCLK: "{local:%y/%m/%d,%H:%M:%S}{zone}"' if local else '+CCLK: "80/01/06,00:01:23+00"'],
            "AT+CTZU=1": [], "AT+QGPS=1": [], "AT+CGPS=1": [],
            "AT+QGPSLOC=2": [f"+QGPSLOC: {fix:%H%M%S}.0,21.02851,105.85420,1.2,15.0,3,0.00,0.0,0.0,{fix:%d%m%y},08"]
            if fix else None,
            "AT+CGPSINFO": [f"+CGPSINFO: 2101.710600,N,10551.252000,E,{fix:%d%m%y},{fix:%H%M%S}.0,15.0,0.0,0.0"
                            if fix else "+CGPSINFO: ,,,,,,,,"],
        }
        if cmd == "AT+QGPSLOC=2" and fix is None:
            return ["+CME ERROR: 516"]
        answer = table.get(cmd)
        return None if answer is None else [*answer, "OK"]


def _utc(offset_s: float | None) -> datetime | None:
    return None if offset_s is None else datetime.fromtimestamp(time.time() + offset_s, UTC)


class ScriptedModem:
    """Serves the pty's master side from a daemon thread; `received` lists every command line it got."""

    def __init__(self, script: ModemScript | None = None, *, noise: bool = False, seed: int = 4) -> None:
        self.script = script if script is not None else ModemScript()
        self.silent: set[str] = set()
        self.received: list[str] = []
        self.noise_sent = 0  # URCs and garbage lines written so far
        self.echo = True
        self._noise = random.Random(seed) if noise else None
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scripted-modem", daemon=True)

    def start(self) -> ScriptedModem:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        os.close(self._master)
        os.close(self._slave)

    def _run(self) -> None:
        pending = b""
        while not self._stop.is_set():
            if not select.select([self._master], [], [], 0.02)[0]:
                continue
            pending += os.read(self._master, 1024)
            *lines, pending = pending.split(b"\r")
            for line in lines:
                self._command(line)

    def _command(self, raw: bytes) -> None:
        cmd = raw.strip().decode("ascii", errors="replace")
        self.received.append(cmd)
        if self.echo:
            self._write(raw + b"\r")
        if cmd in self.silent:
            return
        if cmd in ("ATE0", "ATE1"):
            self.echo = cmd == "ATE1"
        self._urc()
        for line in self.script.answers(cmd) or ["ERROR"]:
            self._write(f"\r\n{line}\r\n".encode())
            self._urc()

    def _urc(self) -> None:
        if self._noise is not None and self._noise.random() < 0.4:
            self.noise_sent += 1
            self._write(self._noise.choice(URCS))

    def _write(self, data: bytes) -> None:
        os.write(self._master, data)
