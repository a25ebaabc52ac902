"""`loa provision`'s hardware: the board (`--hw`, a name from hw/boards or `fake`), its serial port, the modem and
its AT port (hw/modems), the audio output (hw/audio) and the role (a cluster or an e-board) turned into the unit's
config sections. Every wrong option is reported at once, and a wrong name lists the valid ones.

Reads hw/ through agent.catalog only; must not import the agent's adapters or runtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.catalog.boards import load_audio, load_board, load_modem, names
from agent.catalog.fit import SERIAL_KINDS
from agent.config.engine import hint
from agent.errors import ConfigError

FAKE = "fake"
ROLES = ("cluster", "eboard")


@dataclass(frozen=True)
class Hardware:
    """What the technician said about the unit's hardware (all optional but the board)."""

    board: str = FAKE
    serial_port: str = ""  # pySerial URL of a serial, Modbus or co-processor board
    modem: str = ""  # hw/modems/<name>
    modem_port: str = ""  # the modem's AT port; empty: the one its description gives
    audio_device: str = ""  # hw/audio/<name>
    role: str = "cluster"
    screen: str = ""  # e-boards: WIDTHxHEIGHT of the kiosk page
    monitor: str = ""  # hw/monitors/<name>: the unit's health sensors; empty: the agent's default


def board_names() -> list[str]:
    return [FAKE, *names("boards")]


def sections(hw: Hardware) -> dict[str, dict[str, Any]]:
    """The config sections for this hardware; ConfigError listing every problem."""
    problems: list[str] = []
    doc: dict[str, dict[str, Any]] = {"device": {}, "hardware": _relays(hw, problems), "audio": {}, "web": {}}
    doc["hardware"] |= _modem(hw, problems)
    if hw.monitor and _named("--monitor", "monitors", hw.monitor, problems):
        doc["hardware"]["monitor"] = hw.monitor
    if hw.audio_device:
        doc["audio"]["output"] = _named("--audio-device", "audio", hw.audio_device, problems)
    _role(hw, doc, problems)
    if problems:
        raise ConfigError("\n".join(problems))
    return {k: v for k, v in doc.items() if v}


def _relays(hw: Hardware, problems: list[str]) -> dict[str, Any]:
    if hw.board == FAKE:
        if hw.serial_port:
            problems.append("--serial-port: fake relays have no port (give --hw BOARD)")
        return {"relays": FAKE}
    if hw.board not in names("boards"):
        known = board_names()
        problems.append(f"--hw {hw.board!r}: no such board{hint(hw.board, known)}; valid: {', '.join(known)}")
        return {}
    board = load_board(hw.board)
    if board.kind in SERIAL_KINDS and not hw.serial_port:
        problems.append(f"--serial-port: board {hw.board} ({board.kind}) is on a serial link: give its port, e.g. "
                        "/dev/serial/by-id/usb-...-port0 or /dev/ttyAMA0")
    if board.kind == "gpio" and hw.serial_port:
        problems.append(f"--serial-port: board {hw.board} sits on the GPIO header and has no serial port")
    doc: dict[str, Any] = {"relays": "board", "board": hw.board, "zones": [z for z, _ in board.zones]}
    return doc | ({"serial_url": hw.serial_port} if board.kind in SERIAL_KINDS and hw.serial_port else {})


def _modem(hw: Hardware, problems: list[str]) -> dict[str, Any]:
    if not (hw.modem or hw.modem_port):
        return {}
    name = hw.modem or "quectel-ec25"  # the agent's own default modem
    if not _named("--modem", "modems", name, problems):
        return {}
    return {"modem": name, "modem_url": hw.modem_port or load_modem(name).at_port}


def _named(option: str, folder: str, name: str, problems: list[str]) -> str:
    """The value a hw/<folder> description gives (its name, or an audio output's [audio] value); "" if unknown."""
    known = names(folder)
    if name not in known:
        problems.append(f"{option} {name!r}: no such description in hw/{folder}{hint(name, known)}; "
                        f"valid: {', '.join(known)}")
        return ""
    return load_audio(name).output if folder == "audio" else name


def _role(hw: Hardware, doc: dict[str, dict[str, Any]], problems: list[str]) -> None:
    if hw.role not in ROLES:
        problems.append(f"--role {hw.role!r}: must be one of {', '.join(ROLES)}")
        return
    if hw.screen and hw.role != "eboard":
        problems.append("--screen: only an e-board (--role eboard) has a screen")
    if hw.role == "eboard":
        doc["device"]["role"] = "eboard"
        doc["web"] |= _screen(hw.screen, problems) if hw.screen else {}


def _screen(text: str, problems: list[str]) -> dict[str, int]:
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit()):
        problems.append(f"--screen {text!r}: must be WIDTHxHEIGHT in pixels, e.g. 1920x1080")
        return {}
    return {"kiosk_width": int(width), "kiosk_height": int(height)}
