"""Hardware as data: reads hw/boards, hw/modems and hw/audio (TOML) into frozen dataclasses and checks each file
(every problem at once, with its key path).

Data only: must not import any adapter or hardware library (the composition root, agent.app.hardware, chooses and
opens the adapter for a board's kind).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from agent.config.engine import Problems, build, checked, hint, one_of, read_toml
from agent.errors import ConfigError


def _hw_dir() -> Path:
    """hw/ beside the agent package (a checkout, or site-packages where the wheel installs it). A release slot holds
    only agent/: there, the data of the installed hw package (found without importing it)."""
    beside = Path(__file__).resolve().parents[2] / "hw"
    if beside.is_dir():
        return beside
    spec = importlib.util.find_spec("hw")
    return Path(spec.origin).parent if spec is not None and spec.origin else beside


HW_DIR = _hw_dir()
ADDRESS_KEYS = {"gpio": "bcm", "serial": "relay", "modbus": "coil", "coproc": "bit"}  # kind -> channel key
ADDRESS_RANGES = {"gpio": range(28), "serial": range(1, 256), "modbus": range(65536), "coproc": range(8)}
SECTIONS = {"gpio": ("gpio",), "serial": ("serial", "lcus"), "modbus": ("serial", "modbus"),
            "coproc": ("serial", "coproc")}
READ_BACKS = ("none", "pin", "coil")
RESERVED_BCM = {0: "the HAT ID EEPROM (ID_SD)", 1: "the HAT ID EEPROM (ID_SC)"}
BOARD_KEYS = {"name", "title", "kind", "sources", "unconfirmed", "supply", "contacts", "contact_rating", "read_back",
              "channels", "zones", "sensors", "gpio", "serial", "lcus", "modbus", "coproc"}
MAX_ZONE = 32
T = TypeVar("T")


@dataclass(frozen=True)
class Channel:
    number: int
    address: int  # BCM pin, LCUS relay byte, Modbus coil or co-processor mask bit: the board's kind says which
    label: str = ""


@dataclass(frozen=True)
class GpioSettings:
    active_high: bool
    boot_config: str = ""  # config.txt line that holds the pins at "off" from power-on


@dataclass(frozen=True)
class SerialLink:
    baudrate: int
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1
    timeout_s: float = 0.5


@dataclass(frozen=True)
class LcusSettings:
    start_byte: int = 0xA0
    on_byte: int = 0x01
    off_byte: int = 0x00


@dataclass(frozen=True)
class ModbusSettings:
    device_id: int = 1
    retries: int = 1


@dataclass(frozen=True)
class CoprocSettings:
    protocol: int = 1
    heartbeat_interval_s: float = 0.5
    renew_interval_s: float = 300.0


@dataclass(frozen=True)
class Sensor:
    index: int
    label: str
    channel: int  # the relay channel whose amplifier this sensor listens to


@dataclass(frozen=True)
class Board:
    name: str
    title: str
    kind: str
    channels: tuple[Channel, ...]
    zones: tuple[tuple[int, int], ...]  # (zone, channel number)
    read_back: str  # what read() reports: "pin" (driven level), "coil" (board register) or "none" (last command)
    sources: tuple[str, ...] = ()
    unconfirmed: tuple[str, ...] = ()
    supply: str = ""
    contacts: str = ""
    contact_rating: str = ""
    gpio: GpioSettings | None = None
    serial: SerialLink | None = None
    lcus: LcusSettings | None = None
    modbus: ModbusSettings | None = None
    coproc: CoprocSettings | None = None
    sensors: tuple[Sensor, ...] = ()

    def wiring(self, zones: Iterable[int] | None = None) -> dict[int, Channel]:
        """Zone -> channel for the given zones (all the board wires when None); ConfigError for an unwired zone."""
        by_number = {c.number: c for c in self.channels}
        wired = {zone: by_number[number] for zone, number in self.zones}
        wanted = list(wired) if zones is None else list(zones)
        missing = [z for z in wanted if z not in wired]
        if missing:
            raise ConfigError(f"hardware.zones: zone(s) {missing} are not wired on board {self.name!r} "
                              f"(hw/boards/{self.name}.toml wires zones {sorted(wired)})")
        return {zone: wired[zone] for zone in wanted}


@dataclass(frozen=True)
class ModemProfile:
    name: str
    title: str
    at_port: str
    baudrate: int
    timeout_s: float
    signal: str
    operator: str
    registration: tuple[str, ...]
    iccid: str
    iccid_reply: str
    time_setup: str = ""
    network_time: str = ""
    network_time_reply: str = ""
    network_time_local: bool = False
    gnss: bool = False  # this modem (variant) has a GNSS receiver wired to an antenna: read its time
    gnss_on: str = ""
    gnss_time: str = ""
    gnss_reply: str = ""
    gnss_format: str = field(default="", metadata=checked(one_of("", "qgpsloc", "cgpsinfo")))
    sources: tuple[str, ...] = ()
    unconfirmed: tuple[str, ...] = ()


@dataclass(frozen=True)
class AudioOutput:
    name: str
    title: str
    alsa_device: str
    output: str  # the value for [audio] output
    connector: str = ""
    sources: tuple[str, ...] = ()
    unconfirmed: tuple[str, ...] = ()


class _Problems(Problems):
    """Problems found in one file; `raise_if_any` reports them all in one ConfigError."""

    def raise_if_any(self, path: Path) -> None:
        if self:
            raise ConfigError(f"{path}: " + "; ".join(self))


# ---- reading files ---------------------------------------------------------------------------------------------


def names(folder: str, hw_dir: Path = HW_DIR) -> list[str]:
    """The descriptions available in hw/<folder> (boards, modems, audio), by name."""
    return sorted(p.stem for p in (hw_dir / folder).glob("*.toml"))


def _read(folder: str, name: str, hw_dir: Path) -> tuple[Path, dict[str, Any]]:
    """The parsed file; ConfigError naming the closest description when there is no such file."""
    path = hw_dir / folder / f"{name}.toml"
    if not path.is_file():
        known = names(folder, hw_dir)
        raise ConfigError(f"no {name!r} in {path.parent}{hint(name, known)}; known: {', '.join(known)}")
    doc = read_toml(path, "hardware description")
    if doc.get("name", name) != name:
        raise ConfigError(f"{path}: name {doc['name']!r} differs from the file name {name!r}")
    return path, doc


# ---- typed sections --------------------------------------------------------------------------------------------


def _section(cls: type[T], table: Any, where: str, problems: _Problems, given: dict[str, Any] | None = None
             ) -> T | None:
    """A flat dataclass from a TOML table through the config engine; None when anything in it is wrong (the caller
    then builds nothing from it)."""
    before = len(problems)
    built = build(cls, table, where, problems, given=given)
    return built if len(problems) == before else None


def _strings(value: Any, where: str, problems: _Problems) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    problems.append(f"{where}: must be a list of strings")
    return ()


def _text(doc: dict[str, Any], key: str, problems: _Problems, default: str | None = None) -> str:
    value = doc.get(key, default)
    if isinstance(value, str):
        return value
    problems.append(f"{key}: {'missing' if value is None else 'must be a string'}")
    return ""


# ---- boards ----------------------------------------------------------------------------------------------------


def load_board(name: str, hw_dir: Path = HW_DIR) -> Board:
    """hw/boards/<name>.toml, checked; ConfigError listing every problem (or naming the closest board)."""
    path, doc = _read("boards", name, hw_dir)
    problems = _Problems()
    board = _board(name, doc, problems)
    problems.raise_if_any(path)
    return cast(Board, board)


def _board(name: str, doc: dict[str, Any], problems: _Problems) -> Board | None:
    problems.extend(f"{key}: unknown key{hint(key, BOARD_KEYS)}" for key in sorted(doc.keys() - BOARD_KEYS))
    kind = _text(doc, "kind", problems)
    if kind not in ADDRESS_KEYS:
        problems.append(f"kind: must be one of {', '.join(ADDRESS_KEYS)}, got {kind!r}{hint(kind, ADDRESS_KEYS)}")
        return None
    channels = _channels(kind, doc.get("channels"), problems)
    numbers = {c.number for c in channels}
    parts: dict[str, Any] = {"zones": _zones(doc.get("zones"), numbers, problems), "read_back": _read_back(doc, problems),
             "sensors": _sensors(doc.get("sensors", []), numbers, problems)}
    texts = {key: _text(doc, key, problems, "") for key in ("title", "supply", "contacts", "contact_rating")}
    parts |= _kind_sections(kind, doc, problems) | _documented(doc, problems) | texts
    return None if problems else Board(name=name, kind=kind, channels=channels, **parts)


def _read_back(doc: dict[str, Any], problems: _Problems) -> str:
    read_back = _text(doc, "read_back", problems)
    if read_back not in READ_BACKS:
        problems.append(f"read_back: must be one of {', '.join(READ_BACKS)}, got {read_back!r}")
    return read_back


SECTION_TYPES: dict[str, type[Any]] = {"gpio": GpioSettings, "serial": SerialLink, "lcus": LcusSettings,
                                       "modbus": ModbusSettings, "coproc": CoprocSettings}


def _kind_sections(kind: str, doc: dict[str, Any], problems: _Problems) -> dict[str, Any]:
    """The settings tables a kind needs ([gpio], [serial] + [lcus], ...); a table for another kind is a problem."""
    needed = SECTIONS[kind]
    for extra in (set(SECTION_TYPES) - set(needed)) & doc.keys():
        problems.append(f"[{extra}]: not used by a {kind} board")
    for missing in [s for s in needed if s not in doc]:
        problems.append(f"[{missing}]: missing (a {kind} board needs {', '.join(f'[{s}]' for s in needed)})")
    return {s: _section(SECTION_TYPES[s], doc[s], s, problems) for s in needed if s in doc}


def _channels(kind: str, table: Any, problems: _Problems) -> tuple[Channel, ...]:
    if not isinstance(table, list) or not table:
        problems.append("channels: needs at least one [[channels]] entry")
        return ()
    key = ADDRESS_KEYS[kind]
    channels = [c for i, t in enumerate(table) if (c := _channel(kind, key, t, f"channels[{i}]", problems))]
    _unique([c.number for c in channels], "channels: number", problems)
    _unique([c.address for c in channels], f"channels: {key}", problems)
    return tuple(channels)


def _channel(kind: str, key: str, table: Any, where: str, problems: _Problems) -> Channel | None:
    if not isinstance(table, dict) or key not in table:
        problems.append(f"{where}.{key}: missing (a {kind} board addresses its channels by {key!r})")
        return None
    spec = {"number": table.get("number"), "address": table[key], "label": table.get("label", "")}
    channel = _section(Channel, spec, where, problems)
    rng = ADDRESS_RANGES[kind]
    if channel and channel.address not in rng:
        problems.append(f"{where}.{key}: {channel.address} is outside {rng.start}..{rng.stop - 1}")
    elif channel and kind == "gpio" and channel.address in RESERVED_BCM:
        problems.append(f"{where}.{key}: BCM {channel.address} is reserved for {RESERVED_BCM[channel.address]}")
    return channel


def _zones(table: Any, numbers: set[int], problems: _Problems) -> tuple[tuple[int, int], ...]:
    if not isinstance(table, dict) or not table:
        problems.append("zones: needs a [zones] table (zone = channel)")
        return ()
    pairs = [p for k, v in table.items() if (p := _zone(k, v, numbers, problems))]
    _unique([channel for _, channel in pairs], "zones: channel", problems)
    return tuple(sorted(pairs))


def _zone(key: str, channel: Any, numbers: set[int], problems: _Problems) -> tuple[int, int] | None:
    if not key.isdigit() or not 1 <= int(key) <= MAX_ZONE:
        problems.append(f"zones.{key}: a zone is a number 1..{MAX_ZONE}")
    elif not isinstance(channel, int) or isinstance(channel, bool) or channel not in numbers:
        problems.append(f"zones.{key}: {channel!r} is not a channel of this board ({sorted(numbers)})")
    else:
        return int(key), channel
    return None


def _sensors(table: Any, numbers: set[int], problems: _Problems) -> tuple[Sensor, ...]:
    if not isinstance(table, list):
        problems.append("sensors: must be a list of [[sensors]] tables")
        return ()
    sensors = [s for i, t in enumerate(table) if (s := _section(Sensor, t, f"sensors[{i}]", problems))]
    problems.extend(f"sensors: channel {s.channel} is not a channel of this board"
                    for s in sensors if s.channel not in numbers)
    _unique([s.index for s in sensors], "sensors: index", problems)
    return tuple(sensors)


def _unique(values: list[int], where: str, problems: _Problems) -> None:
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        problems.append(f"{where} {dupes} used more than once")


# ---- modems and audio outputs ----------------------------------------------------------------------------------


def load_modem(name: str, hw_dir: Path = HW_DIR) -> ModemProfile:
    """hw/modems/<name>.toml: the modem's AT port and the commands its telemetry uses."""
    path, doc = _read("modems", name, hw_dir)
    problems = _Problems()
    commands = dict(doc.get("commands") or {})
    given = _documented(doc, problems) | {
        "name": name, "registration": _strings(commands.pop("registration", None), "commands.registration", problems)}
    table = {k: v for k, v in doc.items() if k not in ("name", "commands", "sources", "unconfirmed")} | commands
    modem = _section(ModemProfile, table, "modem", problems, given)
    problems.raise_if_any(path)
    return cast(ModemProfile, modem)


def load_audio(name: str, hw_dir: Path = HW_DIR) -> AudioOutput:
    """hw/audio/<name>.toml: an ALSA output and the value for the agent's [audio] output."""
    path, doc = _read("audio", name, hw_dir)
    problems = _Problems()
    table = {k: v for k, v in doc.items() if k not in ("name", "sources", "unconfirmed")}
    audio = _section(AudioOutput, table, "audio", problems, _documented(doc, problems) | {"name": name})
    if audio and not audio.output.startswith("alsa:"):
        problems.append(f"output: {audio.output!r} must be alsa:<device>")
    problems.raise_if_any(path)
    return cast(AudioOutput, audio)


def _documented(doc: dict[str, Any], problems: _Problems) -> dict[str, Any]:
    """The datasheet citations and the values nobody could confirm, kept with the data they are about."""
    if "name" in doc and not isinstance(doc["name"], str):
        problems.append("name: must be a string (the file name without .toml)")
    return {key: _strings(doc.get(key, []), key, problems) for key in ("sources", "unconfirmed")}
