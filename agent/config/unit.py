"""The agent's configuration: one TOML file parsed into frozen dataclasses, all errors reported in one pass.

Must not import adapters or the core (except the reconnect defaults of agent.core.backoff, a standard-library-only
module, so the unit and the simulator share them); it only reads the file it is given.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agent.config.engine import (
    Problem,
    Problems,
    between,
    build,
    checked,
    non_empty,
    one_of,
    read_toml,
    unknown_keys,
)
from agent.core.backoff import RECONNECT_MAX_S, RECONNECT_MIN_S
from agent.errors import ConfigError


def _audio_output(v: str) -> str | None:
    ok = v == "null" or v.startswith(("alsa:", "wav:", "tap:"))
    return None if ok else "must be null, alsa:<device>, wav:<dir> or tap:<dir>"


def _quiet_hours(v: str) -> str | None:
    from agent.core.clocktime import parse_window

    return None if v == "off" or parse_window(v) else "must be HH:MM-HH:MM or off"


def _time_sync(v: str) -> str | None:
    if v in ("auto", "systemd"):  # the old modes guessed from the date or trusted timesyncd's file alone
        return f'"{v}" is no longer a mode: use "kernel" (the kernel\'s synchronised flag, the default), "assume" or "none"'
    return one_of("kernel", "assume", "none")(v)


def _servers(v: tuple[str, ...]) -> str | None:
    return None if all(s.strip() and " " not in s for s in v) else "must list host or host:port names"


def _location(v: tuple[float, ...]) -> str | None:
    ok = not v or (len(v) == 2 and -90 <= v[0] <= 90 and -180 <= v[1] <= 180)
    return None if ok else "must be [latitude, longitude] in degrees (-90..90, -180..180), or empty"


@dataclass(frozen=True)
class DeviceSection:
    id: str = field(metadata=checked(non_empty))
    groups: tuple[str, ...] = ()
    role: str = field(default="cluster", metadata=checked(one_of("cluster", "eboard")))
    state_dir: str = "."
    language: str = field(default="vi", metadata=checked(one_of("vi", "en")))
    timezone: str = "Asia/Ho_Chi_Minh"
    commune: str = ""  # the commune's name as people write it ("Xã Hòa An"): shown on the e-board's idle page
    # [latitude, longitude] in WGS 84 degrees from `loa provision --lat --lon`; empty: not provisioned
    location: tuple[float, ...] = field(default=(), metadata=checked(_location))


@dataclass(frozen=True)
class MqttSection:
    url: str = ""  # one broker: the same as urls = [url]
    urls: tuple[str, ...] = ()  # an ordered broker list: the first is preferred, the others are fallbacks
    allow_plain: bool = False
    ca: str = ""
    cert: str = ""
    key: str = ""
    username: str = ""
    password_file: str = ""
    topic_prefix: str = "loa/v1"
    protocol: str = field(default="5", metadata=checked(one_of("5", "3.1.1")))
    keepalive_s: int = field(default=60, metadata=checked(between(5, 1200)))
    reconnect_min_s: float = field(default=RECONNECT_MIN_S, metadata=checked(between(0.05, 60)))
    reconnect_max_s: float = field(default=RECONNECT_MAX_S, metadata=checked(between(1, 3600)))
    prefer_probe_s: float = field(default=60.0, metadata=checked(between(1, 3600)))  # while on a fallback

    @property
    def brokers(self) -> tuple[str, ...]:
        """The ordered broker list, whichever of `url` and `urls` the file gave."""
        return self.urls or ((self.url,) if self.url else ())


@dataclass(frozen=True)
class TrustSection:
    jwks: str = field(metadata=checked(non_empty))
    issuers: tuple[str, ...] = ("province",)
    max_lifetime_s: int = field(default=3600, metadata=checked(between(10, 7 * 86400)))
    clock_skew_s: int = field(default=60, metadata=checked(between(0, 900)))
    max_command_bytes: int = field(default=16384, metadata=checked(between(512, 1 << 20)))
    # kernel: the kernel's "synchronised" flag (timesyncd, chrony, ntpd); assume: trusted (dev machines, tests); none
    time_sync: str = field(default="kernel", metadata=checked(_time_sync))


@dataclass(frozen=True)
class ReportsSection:
    heartbeat_s: int = field(default=60, metadata=checked(between(5, 3600)))
    outbox_rate_per_s: float = field(default=20.0, metadata=checked(between(0.1, 1000)))
    outbox_max_rows: int = field(default=100_000, metadata=checked(between(100, 10_000_000)))


@dataclass(frozen=True)
class HardwareSection:
    relays: str = field(default="fake", metadata=checked(one_of("fake", "board")))
    board: str = ""  # hw/boards/<name>.toml when relays = "board"
    serial_url: str = ""  # pySerial URL of a serial, Modbus or co-processor board
    modem: str = "quectel-ec25"  # hw/modems/<name>.toml
    modem_url: str = ""  # pySerial URL of the modem's AT port; empty: no telemetry
    modem_poll_s: int = field(default=60, metadata=checked(between(5, 3600)))
    zones: tuple[int, ...] = (1, 2)
    volume_pct: int = field(default=70, metadata=checked(between(0, 100)))
    max_volume_pct: int = field(default=90, metadata=checked(between(0, 100)))
    # the relay co-processor's own maximum on-time (firmware/config.py MAX_ON_MS, in s): renewals stay inside it
    coproc_max_on_s: int = field(default=900, metadata=checked(between(2, 6 * 3600)))
    # the unit's health sensors (agent.core.unit_health): hw/monitors/<name>.toml, read every sensors_poll_s
    monitor: str = "pi-basic"
    sensors_poll_s: int = field(default=60, metadata=checked(between(5, 3600)))
    link: str = field(default="auto", metadata=checked(one_of("auto", "cellular", "ethernet", "wifi")))
    sysfs_root: str = ""  # a folder standing in for / when the monitor's files are read (tests, simulation)


@dataclass(frozen=True)
class AudioSection:
    output: str = field(default="null", metadata=checked(_audio_output))
    quiet_hours: str = field(default="22:00-05:00", metadata=checked(_quiet_hours))
    emergency_volume_pct: int = field(default=100, metadata=checked(between(0, 100)))
    warmup_s: float = field(default=1.0, metadata=checked(between(0, 30)))
    tail_s: float = field(default=2.0, metadata=checked(between(0, 60)))
    stagger_s: float = field(default=0.5, metadata=checked(between(0, 10)))
    max_on_s: int = field(default=3600, metadata=checked(between(10, 6 * 3600)))
    cache_quota_mb: int = field(default=512, metadata=checked(between(1, 1 << 20)))


@dataclass(frozen=True)
class SourcesSection:
    """Where audio may come from (agent.core.sources): streams need https unless their host is listed for plain
    http; `allowed_hosts` (empty: any) limits downloads, streams and every redirect; each download's deadline."""

    download_deadline_s: float = field(default=600.0, metadata=checked(between(5, 24 * 3600)))
    allowed_hosts: tuple[str, ...] = ()
    plain_http_stream_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebSection:
    """The unit's own pages: the technician's status page (off unless a port is given; it needs the password hash
    that `loa provision` writes) and, on an e-board, the kiosk page on 127.0.0.1 for the board's own browser."""

    status_bind: str = "127.0.0.1"
    status_port: int = field(default=0, metadata=checked(between(0, 65535)))  # 0: no status page
    password_hash_file: str = ""
    session_minutes: int = field(default=30, metadata=checked(between(1, 24 * 60)))
    kiosk_port: int = field(default=0, metadata=checked(between(0, 65535)))  # 0: any free port (see kiosk.url)
    kiosk_width: int = field(default=1920, metadata=checked(between(160, 7680)))
    kiosk_height: int = field(default=1080, metadata=checked(between(120, 4320)))
    browser: str = "/usr/bin/chromium"  # renders the kiosk page for `snapshot`


@dataclass(frozen=True)
class UpdateSection:
    """Signed release updates (agent.core.update). `trust` is the public half of the OFFLINE release key
    (`loa release keygen`), never the command key; empty: the unit refuses every update."""

    trust: str = ""
    check_s: int = field(default=60, metadata=checked(between(5, 1800)))  # the new version's health check
    start_s: int = field(default=180, metadata=checked(between(10, 3600)))  # the launcher's deadline for a trial
    max_bundle_mb: int = field(default=64, metadata=checked(between(1, 1024)))


@dataclass(frozen=True)
class TimeSection:
    """The agent's own time sources (docs/time-sources.md): its SNTP queries. The modem's network time and GNSS
    come with [hardware] modem_url."""

    ntp_servers: tuple[str, ...] = field(default=("0.vn.pool.ntp.org", "1.vn.pool.ntp.org"), metadata=checked(_servers))
    ntp_poll_s: int = field(default=300, metadata=checked(between(16, 86400)))  # while the time is trusted
    ntp_untrusted_poll_s: int = field(default=15, metadata=checked(between(2, 3600)))  # while it is not
    ntp_timeout_s: float = field(default=5.0, metadata=checked(between(0.2, 60)))


@dataclass(frozen=True)
class Config:
    device: DeviceSection
    mqtt: MqttSection
    trust: TrustSection
    reports: ReportsSection = ReportsSection()
    hardware: HardwareSection = HardwareSection()
    audio: AudioSection = AudioSection()
    sources: SourcesSection = SourcesSection()
    update: UpdateSection = UpdateSection()
    web: WebSection = WebSection()
    time: TimeSection = TimeSection()
    base_dir: Path = Path(".")

    def path(self, value: str) -> Path:
        """A path from the file, resolved against the config file's folder."""
        return (self.base_dir / value).resolve()

    @property
    def state_dir(self) -> Path:
        return self.path(self.device.state_dir)


_SECTIONS = {k: v for k, v in typing.get_type_hints(Config).items() if k != "base_dir"}


def load(path: str | Path) -> Config:
    """Read and validate a config file. Raises ConfigError listing every problem, one per line, each with its key."""
    file = Path(path)
    return parse(read_toml(file, "config file"), base_dir=file.resolve().parent)


def parse(raw: dict[str, Any], *, base_dir: Path = Path(".")) -> Config:
    config, problems = parse_problems(raw, base_dir=base_dir)
    if problems or config is None:
        raise ConfigError("\n".join(problems))
    return config


def parse_problems(raw: dict[str, Any], *, base_dir: Path = Path(".")) -> tuple[Config | None, Problems]:
    """Every problem found (each a coded Problem: see agent.config.check), and the config as far as it could be
    built: a wrong value is left at its default, so the bundle's files can still be checked; None when a section
    could not be built at all. Only a config without problems may run."""
    problems = Problems()
    unknown_keys(raw, _SECTIONS, "", problems)
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        table = raw.get(name, {})
        if not isinstance(table, dict):
            problems.append(Problem(name, "not_table", f"must be a table [{name}]"))
            continue
        sections[name] = build(cls, table, name, problems)
    problems.extend(_cross_checks(sections))
    whole = all(sections.get(name) is not None for name in _SECTIONS)
    return (Config(base_dir=base_dir, **sections) if whole else None), problems


def _cross_checks(sections: dict[str, Any]) -> list[Problem]:
    mqtt, hw, web, update = (sections.get(k) for k in ("mqtt", "hardware", "web", "update"))
    problems = _url_problems(mqtt) if mqtt is not None else []
    if hw is not None and hw.relays == "board" and not hw.board:
        problems.append(Problem("hardware.board", "board_needed",
                                "required when hardware.relays = \"board\" (a name from hw/boards)"))
    if web is not None and web.status_port and not web.password_hash_file:
        problems.append(Problem("web.password_hash_file", "status_password",
                                "required when web.status_port is set (no status page without a password; "
                                "`loa provision` writes one)"))
    if update is not None and update.start_s <= update.check_s:
        problems.append(Problem("update.start_s", "longer_than", f"must be longer than update.check_s "
                                f"({update.check_s} s)", other="update.check_s", value=update.check_s))
    if hw is not None and (not hw.zones or any(z < 1 or z > 32 for z in hw.zones)):
        problems.append(Problem("hardware.zones", "zones", f"must list zone numbers 1..32 (got {list(hw.zones)!r})",
                                got=repr(list(hw.zones))))
    return problems


def _url_problems(mqtt: MqttSection) -> list[Problem]:
    if mqtt.url and mqtt.urls:
        return [Problem("mqtt.urls", "url_or_urls", "give either mqtt.url or mqtt.urls, not both")]
    if not mqtt.brokers:
        return [Problem("mqtt.url", "missing", "required key is missing")]
    key = "mqtt.urls" if mqtt.urls else "mqtt.url"
    problems = [p for url in mqtt.brokers for p in _one_url_problems(key, url, mqtt.allow_plain)]
    if not problems and len({urlsplit(u).scheme for u in mqtt.brokers}) > 1:
        problems.append(Problem(key, "url_schemes", "every broker of the list must use the same scheme"))
    return problems


def _one_url_problems(key: str, url: str, allow_plain: bool) -> list[Problem]:
    try:
        scheme = urlsplit(url).scheme
    except ValueError as exc:  # e.g. an unclosed [ in the host
        return [Problem(key, "url", f"not a valid URL ({exc}) (got {url!r})", got=repr(url), detail=str(exc))]
    if scheme not in ("mqtt", "mqtts"):
        return [Problem(key, "url_scheme", f"must start with mqtts:// or mqtt:// (got {url!r})", got=repr(url))]
    if scheme == "mqtt" and not allow_plain:
        return [Problem(key, "plain", "plain mqtt:// needs mqtt.allow_plain = true (traffic is not encrypted)")]
    return []
