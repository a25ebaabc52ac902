"""Does a unit's [hardware] fit the hardware described in hw/? The board exists and wires the zones the config
uses, a board on a serial link has its port, the modem and the health monitor are described: every problem at once, coded for
agent.config.check (which `loa config check` and `loa provision` pass this function to).

Data only: must not import any adapter or hardware library.
"""

from __future__ import annotations

from pathlib import Path

from agent.catalog.boards import HW_DIR, load_board, load_modem, names
from agent.catalog.monitors import load_monitor
from agent.config.engine import Problem, closest, hint
from agent.config.unit import Config
from agent.errors import ConfigError

SERIAL_KINDS = ("serial", "modbus", "coproc")


def problems(cfg: Config, hw_dir: Path = HW_DIR) -> list[Problem]:
    hw = cfg.hardware
    found = (_modem(hw.modem, hw_dir) if hw.modem_url else []) + _monitor(hw.monitor, hw_dir)
    if hw.relays != "board" or not hw.board:
        return found
    if hw.board not in names("boards", hw_dir):
        known = names("boards", hw_dir)
        return [*found, Problem("hardware.board", "no_board", f"no board {hw.board!r} in hw/boards; known: "
                                f"{', '.join(known)}{hint(hw.board, known)}", got=repr(hw.board),
                                known=", ".join(known), suggest=closest(hw.board, known))]
    try:
        board = load_board(hw.board, hw_dir)
    except ConfigError as exc:
        return [*found, Problem("hardware.board", "board", str(exc), detail=str(exc))]
    wired = sorted(z for z, _ in board.zones)
    unwired = [z for z in hw.zones if z not in wired]
    if unwired:
        found.append(Problem("hardware.zones", "unwired", f"zone(s) {unwired} are not wired on board {hw.board} "
                             f"(hw/boards/{hw.board}.toml wires zones {wired})", zones=str(unwired), board=hw.board,
                             wired=str(wired)))
    if board.kind in SERIAL_KINDS and not hw.serial_url:
        found.append(Problem("hardware.serial_url", "serial_needed", f"board {hw.board} ({board.kind}) is on a "
                             "serial link: give its port (a pySerial URL such as /dev/serial/by-id/...)",
                             board=hw.board, kind=board.kind))
    if board.kind == "gpio" and hw.serial_url:
        found.append(Problem("hardware.serial_url", "serial_unused", f"board {hw.board} sits on the GPIO "
                             "header: it has no serial port", board=hw.board))
    return found


def _monitor(name: str, hw_dir: Path) -> list[Problem]:
    try:
        load_monitor(name, hw_dir)
    except ConfigError as exc:
        return [Problem("hardware.monitor", "monitor", str(exc), detail=str(exc))]
    return []


def _modem(name: str, hw_dir: Path) -> list[Problem]:
    try:
        load_modem(name, hw_dir)
    except ConfigError as exc:
        return [Problem("hardware.modem", "modem", str(exc), detail=str(exc))]
    return []
