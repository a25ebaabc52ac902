"""The composition root: builds the adapters from config in dependency order into one typed bundle (Parts) for the
runtime, tells systemd how the agent is (READY, STATUS, a watchdog fed from the loop, STOPPING), runs the loop, and
stops the parts in reverse (one ExitStack).

The only module that knows every adapter. Must not contain decisions (they belong in agent.core).
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent import i18n
from agent.adapters.audio import alert_tone
from agent.adapters.mqtt.mqtt_paho import LinkCallbacks, LinkSettings, PahoLink
from agent.adapters.storage.sqlite_store import SqliteStore
from agent.adapters.storage.staff_log_ring import StaffLogRing
from agent.adapters.system.release_slots import ReleaseSlots, running_release
from agent.adapters.system.system_clock import SystemClock
from agent.adapters.system.systemd_notify import SystemdNotifier
from agent.app import hardware, launcher
from agent.config.unit import Config
from agent.core.clocktime import parse_window
from agent.core.device import Device, DeviceSettings, DeviceState, offline_status
from agent.core.eboard import BoardSettings
from agent.core.sound import SoundSettings
from agent.core.sources import SourcePolicy
from agent.core.topics import Topics, valid_name
from agent.core.update import BootInfo, UpdateSettings
from agent.core.verify import Policy, TrustError, TrustSet, load_trust
from agent.errors import ConfigError
from agent.runtime.agent_runtime import AgentRuntime
from agent.runtime.loop import Loop
from agent.runtime.parts import Inbox, Parts
from agent.runtime.preparer import Preparer
from agent.runtime.trusted_clock import TrustedClock

if TYPE_CHECKING:  # imported where used, so a unit loads only the adapters its config asks for
    from agent.adapters.audio.stream_gate import StreamGate
    from agent.adapters.web.chromium_snapshot import ChromiumCamera
    from agent.adapters.web.http_pages import PageServer, PageSettings
    from agent.runtime.updater import Updater

log = logging.getLogger("loa.agent")
FIRST_BOOT = "firstboot.json"  # written beside config.toml by the unit's first boot (agent/systemd/firstrun.sh)


@dataclass(frozen=True)
class Agent:
    """A built agent: its parts started in dependency order; closing it stops them in reverse."""

    config: Config
    loop: Loop
    store: SqliteStore
    parts: Parts
    runtime: AgentRuntime
    stack: ExitStack

    def close(self) -> None:
        self.stack.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_trust(path: Path) -> TrustSet:
    try:
        return load_trust(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ConfigError(f"trust.jwks: file not found: {path}") from None
    except (ValueError, TrustError) as exc:
        raise ConfigError(f"trust.jwks: {path} is not a usable Ed25519 JWK Set ({exc})") from None


def read_password(cfg: Config) -> str:
    if not cfg.mqtt.password_file:
        return ""
    try:
        return cfg.path(cfg.mqtt.password_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"mqtt.password_file: cannot read {cfg.mqtt.password_file} ({exc.strerror})") from None


def check_names(cfg: Config) -> None:
    bad = [n for n in (cfg.device.id, *cfg.device.groups) if not valid_name(n)]
    if bad:
        raise ConfigError(f"device.id/groups: {bad[0]!r} must be 1-64 characters of A-Z a-z 0-9 . _ -")


def time_zone(cfg: Config) -> ZoneInfo:
    try:
        return ZoneInfo(cfg.device.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"device.timezone: unknown time zone {cfg.device.timezone!r}") from None


def sound_settings(cfg: Config) -> SoundSettings:
    a, coproc = cfg.audio, hardware.coproc_on_time(cfg)
    return SoundSettings(
        zones=cfg.hardware.zones, tz=time_zone(cfg),
        quiet_window=None if a.quiet_hours == "off" else parse_window(a.quiet_hours),
        emergency_volume_pct=a.emergency_volume_pct, warmup_s=a.warmup_s, tail_s=a.tail_s, stagger_s=a.stagger_s,
        max_on_s=min(a.max_on_s, coproc[0]) if coproc else a.max_on_s, renew_s=coproc[1] if coproc else None,
        alert_tone=str(alert_tone.write(cfg.state_dir / "alert-tone.wav")),
        alert_phrase=i18n.render(cfg.device.language, "alert_phrase", {}), alert_lang=cfg.device.language,
    )


def audio_output(cfg: Config) -> str:
    """wav:<dir> and tap:<dir> are resolved against the config's folder, and the folder made, so a relative path
    works."""
    kind, sep, target = cfg.audio.output.partition(":")
    if kind not in ("wav", "tap") or not sep:
        return cfg.audio.output
    folder = cfg.path(target)
    folder.mkdir(parents=True, exist_ok=True)
    return f"{kind}:{folder}"


def device_settings(cfg: Config, saved: dict[str, Any]) -> DeviceSettings:
    policy = Policy(
        device_id=cfg.device.id, groups=frozenset(cfg.device.groups),
        issuers=frozenset(saved.get("issuers", cfg.trust.issuers)), max_bytes=cfg.trust.max_command_bytes,
        skew_s=cfg.trust.clock_skew_s, max_lifetime_s=cfg.trust.max_lifetime_s,
    )
    return DeviceSettings(
        device_id=cfg.device.id, groups=cfg.device.groups, zones=cfg.hardware.zones, version=running_release()[1],
        policy=policy, topics=Topics(cfg.mqtt.topic_prefix), role=cfg.device.role,
        heartbeat_s=int(saved.get("heartbeat_s", cfg.reports.heartbeat_s)),
        volume_pct=min(int(saved.get("volume_pct", cfg.hardware.volume_pct)), cfg.hardware.max_volume_pct),
        max_volume_pct=cfg.hardware.max_volume_pct,
        reconnect_min_s=cfg.mqtt.reconnect_min_s, reconnect_max_s=cfg.mqtt.reconnect_max_s,
        sound=sound_settings(cfg),
        update=update_settings(cfg, saved),
        board=board_settings(cfg),
        location=(cfg.device.location[0], cfg.device.location[1]) if cfg.device.location else None,
        link_type=None if cfg.hardware.link == "auto" else cfg.hardware.link,
        install=first_boot(cfg),
    )


def first_boot(cfg: Config) -> dict[str, str] | None:
    """The outcome firstrun.sh left beside the config (a unit flashed by flash.sh); None elsewhere or if unreadable."""
    try:
        found = json.loads(cfg.path(FIRST_BOOT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {k: str(v) for k, v in found.items() if k in ("result", "detail", "at", "loa")} if isinstance(found, dict) \
        else None


def build(cfg: Config) -> Agent:
    """Everything is checked before anything starts: a bad file leaves nothing half-started, and a part that cannot
    start stops the ones started before it."""
    check_names(cfg)
    keys = read_trust(cfg.path(cfg.trust.jwks))
    password = read_password(cfg)
    if cfg.mqtt.protocol != "5":
        log.warning("mqtt.protocol 3.1.1: a retained command published while the unit is connected cannot be told "
                    "from a live one; use MQTT 5 where the broker has it")
    if cfg.mqtt.url.startswith("mqtt://"):
        log.warning("mqtt.url uses plain mqtt://: commands are signed, but reports travel unencrypted")
    stack = ExitStack()
    try:
        return assemble(cfg, keys, password, stack)
    except BaseException:
        stack.close()
        raise


def assemble(cfg: Config, keys: TrustSet, password: str, stack: ExitStack) -> Agent:
    """Start in dependency order, each part's stop pushed as it starts: the stack stops them in reverse (audio and
    relays off, the goodbye status, the link, the store, the loop)."""
    loop = Loop(on_error=lambda kind: inbox.internal_fault(kind))  # a failing callback is a fault, never an exit
    inbox = Inbox(loop)  # the parts' way to the runtime, which opens it as it is made
    stack.callback(loop.close)
    store = SqliteStore(cfg.state_dir / "agent.sqlite3", max_outbox_rows=cfg.reports.outbox_max_rows)
    stack.callback(store.close)
    saved = store.settings()
    floor_s = int(saved.get("time_floor_s", 0))
    clock = TrustedClock(SystemClock(cfg.trust.time_sync), floor_ms=floor_s * 1000)
    # remembered jtis still unexpired: judged by the time floor alone while the clock is untrusted (a unit booting
    # years ahead must keep its replay protection)
    remember_from_s = clock.now_ms() // 1000 if clock.synced() else floor_s
    if "trust" in saved:
        keys = load_trust(saved["trust"])
    state = DeviceState(seen=store.seen_commands(remember_from_s), time_floor_s=floor_s,
                        saved=saved)
    staff_log = StaffLogRing(cfg.state_dir / "staff-log")  # after the goodbye (pushed before it), its last batch
    stack.callback(staff_log.close)
    state.log_lines.extend(staff_log.recent())  # a restart keeps what staff may want to read
    device = Device(device_settings(cfg, saved), keys, state, random.Random())
    link = PahoLink(loop, link_settings(cfg, password), LinkCallbacks(
        on_up=inbox.link_up, on_down=inbox.link_down, on_message=inbox.message, on_puback=inbox.puback))
    stack.callback(link.close)
    goodbye = stack.enter_context(ExitStack())  # the runtime's goodbye: after audio and relays, before the link
    relays = stack.enter_context(closing(hardware.relays_for(cfg, loop, inbox.post_event)))
    pages, camera = open_board_pages(cfg, inbox, stack)
    updater = stack.enter_context(closing(open_updater(cfg, loop, inbox)))
    preparer, player = open_sound(cfg, inbox, stack)
    service = SystemdNotifier()
    parts = Parts(relays=relays, store=store, clock=clock, link=link, player=player, preparer=preparer,
                  updater=updater, pages=pages, camera=camera, service=service, staff_log=staff_log)
    runtime = AgentRuntime(device, loop, parts, inbox=inbox, language=cfg.device.language,
                           flush_rate_per_s=cfg.reports.outbox_rate_per_s)
    goodbye.callback(runtime.stop, offline_status(), Topics(cfg.mqtt.topic_prefix).report(cfg.device.id, "status"))
    if store.open_fault:  # a full card: the unit runs and says so
        runtime.store_fault(store.open_fault)
    hardware.start_modem_poller(cfg, inbox.post_event, clock.observe)
    sensors = hardware.open_unit_sensors(cfg)
    stack.callback(sensors.close)
    hardware.start_sensor_poller(cfg, inbox.post_event, sensors)
    start_ntp(cfg, clock, stack)
    feed_watchdog(loop, service)
    stack.callback(service.stopping)  # the first thing said on the way out
    return Agent(cfg, loop, store, parts, runtime, stack)


def start_ntp(cfg: Config, clock: TrustedClock, stack: ExitStack) -> None:
    """The agent's own SNTP queries (none when [time] ntp_servers is empty), on their own thread."""
    from agent.adapters.system.ntp_source import NtpPoller

    t = cfg.time
    if t.ntp_servers:
        poller = NtpPoller(t.ntp_servers, clock, poll_s=t.ntp_poll_s, untrusted_poll_s=t.ntp_untrusted_poll_s,
                           timeout_s=t.ntp_timeout_s)
        stack.enter_context(closing(poller.start()))


def board_settings(cfg: Config) -> BoardSettings | None:
    """An e-board's desk: its snapshot fits a command's size cap; its live streams pass the unit's source policy."""
    eboard = cfg.device.role == "eboard"
    return BoardSettings(snapshot_max_bytes=cfg.trust.max_command_bytes, sources=source_policy(cfg)) if eboard else None


def source_policy(cfg: Config) -> SourcePolicy:
    return SourcePolicy(cfg.sources.allowed_hosts, cfg.sources.plain_http_stream_hosts)


def open_sound(cfg: Config, inbox: Inbox, stack: ExitStack) -> tuple[Preparer, StreamGate]:
    """A verified content-addressed cache for downloads, espeak-ng for text, libVLC for decoding."""
    from agent.adapters.audio.download_cache import DownloadCache
    from agent.adapters.audio.espeak_tts import EspeakSpeech
    from agent.adapters.audio.stream_gate import StreamGate
    from agent.adapters.audio.vlc_player import VlcPlayer

    policy = source_policy(cfg)
    cache = DownloadCache(cfg.state_dir / "cache", quota_bytes=cfg.audio.cache_quota_mb * 1024 * 1024,
                          deadline_s=cfg.sources.download_deadline_s, policy=policy)
    speech = EspeakSpeech(cfg.state_dir / "tts")
    preparer = stack.enter_context(closing(Preparer(cache, speech, inbox.post_event)))
    return preparer, stack.enter_context(closing(StreamGate(VlcPlayer(output=audio_output(cfg)), policy)))


# ---- the unit's pages: separate from everything above --------------------------------------------------------------


def open_board_pages(cfg: Config, inbox: Inbox, stack: ExitStack) -> tuple[PageServer | None, ChromiumCamera | None]:
    """The technician's status page when configured; on an e-board, the kiosk page and its snapshot camera.
    A port that cannot be opened is logged and the unit runs on without its pages: they never take it off the air."""
    from agent.adapters.web import kiosk_token
    from agent.adapters.web.chromium_snapshot import ChromiumCamera

    eboard, w = cfg.device.role == "eboard", cfg.web
    if not (eboard or w.status_port):
        return None, None
    try:
        pages = stack.enter_context(closing(open_pages(cfg, inbox)))
    except OSError as exc:
        log.error("web: cannot open the unit's pages (%s); running without them", exc.strerror or exc)
        return None, None
    if not eboard:
        return pages, None
    kiosk_token.write_url(cfg.state_dir, pages.kiosk_url)
    # "#snapshot": the page renders as the board's does but never reports on its videos (kiosk.js)
    camera = ChromiumCamera(w.browser, f"{pages.kiosk_url}#snapshot", (w.kiosk_width, w.kiosk_height), inbox.post_event)
    return pages, stack.enter_context(closing(camera))


def open_pages(cfg: Config, inbox: Inbox) -> PageServer:
    """With kiosk_port 0 the kiosk keeps the port of its last URL when it is still free, else takes a free one."""
    from dataclasses import replace

    from agent.adapters.web import kiosk_token
    from agent.adapters.web.http_pages import PageServer

    settings = page_settings(cfg)
    if settings.kiosk_port == 0 and (port := kiosk_token.previous_port(cfg.state_dir)):
        try:
            return PageServer(replace(settings, kiosk_port=port), inbox.post_event)
        except OSError:
            pass
    return PageServer(settings, inbox.post_event)


def page_settings(cfg: Config) -> PageSettings:
    from agent.adapters.web import kiosk_token
    from agent.adapters.web.http_pages import PageSettings

    w, eboard = cfg.web, cfg.device.role == "eboard"
    return PageSettings(
        device_id=cfg.device.id, timezone=cfg.device.timezone, language=cfg.device.language,
        status_addr=(w.status_bind, w.status_port) if w.status_port else None,
        password_hash=read_text(cfg, "web.password_hash_file", w.password_hash_file) if w.status_port else "",
        session_s=w.session_minutes * 60.0, kiosk_port=w.kiosk_port if eboard else None,
        kiosk_token=kiosk_token.kiosk_token(cfg.state_dir) if eboard else "",
    )


def read_text(cfg: Config, key: str, value: str) -> str:
    try:
        return cfg.path(value).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read {value} ({exc.strerror})") from None


# ---- release updates: separate from everything above ------------------------------------------------------------


def update_settings(cfg: Config, saved: dict[str, Any]) -> UpdateSettings:
    """The release keys (never a command key), and what this process booted into: slot, launcher, markers."""
    slots = ReleaseSlots(cfg.state_dir / "releases")
    boot = BootInfo(slot=running_release()[0], supervised=os.environ.get(launcher.ENV_FLAG) == "1",
                    trial=slots.read_trial(), outcome=slots.read_outcome())
    trust = read_release_trust(cfg, saved) if cfg.update.trust else None
    return UpdateSettings(trust=trust, check_s=cfg.update.check_s, test_zone=cfg.hardware.zones[0], boot=boot)


def read_release_trust(cfg: Config, saved: dict[str, Any]) -> TrustSet:
    path = cfg.path(cfg.update.trust)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        keys = load_trust(raw)
    except OSError as exc:
        raise ConfigError(f"update.trust: cannot read {path} ({exc.strerror})") from None
    except (ValueError, TrustError) as exc:
        raise ConfigError(f"update.trust: {path} is not a usable Ed25519 JWK Set ({exc})") from None
    command_keys = [*read_jwks(cfg.path(cfg.trust.jwks)), *saved.get("trust", {}).get("keys", [])]
    if {k.get("x") for k in raw["keys"]} & {k.get("x") for k in command_keys}:
        raise ConfigError("update.trust: a release key must never be a command key (make one: loa release keygen)")
    return keys


def read_jwks(path: Path) -> list[dict[str, Any]]:
    keys = json.loads(path.read_text(encoding="utf-8")).get("keys", [])
    return [k for k in keys if isinstance(k, dict)]


def open_updater(cfg: Config, loop: Loop, inbox: Inbox) -> Updater:
    """Bundles are downloaded into their own verified cache; a restart is the loop stopping (the launcher restarts)."""
    from agent.adapters.audio.download_cache import DownloadCache
    from agent.adapters.system.release_bundle import read_bundle
    from agent.runtime.updater import Updater

    slots = ReleaseSlots(cfg.state_dir / "releases")
    max_bytes = cfg.update.max_bundle_mb * 1024 * 1024
    cache = DownloadCache(slots.downloads, quota_bytes=max_bytes)
    return Updater(slots, cache, read_bundle, inbox.post_event, lambda: loop.post(loop.stop), max_bytes=4 * max_bytes)


def link_settings(cfg: Config, password: str) -> LinkSettings:
    topics = Topics(cfg.mqtt.topic_prefix)
    m = cfg.mqtt
    return LinkSettings(
        url=m.url, client_id=f"loa-{cfg.device.id}", will_topic=topics.report(cfg.device.id, "status"),
        will_payload=offline_status(), username=m.username, password=password,
        ca=str(cfg.path(m.ca)) if m.ca else "", cert=str(cfg.path(m.cert)) if m.cert else "",
        key=str(cfg.path(m.key)) if m.key else "", keepalive_s=m.keepalive_s, protocol=m.protocol,
    )


def feed_watchdog(loop: Loop, notify: SystemdNotifier) -> None:
    """Pinged from the loop itself at half of WATCHDOG_USEC, so a stuck loop stops the pings and systemd restarts
    the agent; nothing is scheduled when no watchdog is set."""
    every = notify.watchdog_interval_s()
    if not every:
        return

    def beat() -> None:
        notify.watchdog()
        loop.call_later(every, beat)

    loop.call_later(every, beat)


def run(cfg: Config) -> int:
    """Run in the foreground until SIGTERM or SIGINT (or a signed `reboot`); relays are off on the way out whatever
    happened. The process's exit code: 0, or REBOOT_EXIT, which the systemd unit turns into a reboot."""
    with build(cfg) as agent:
        stop = lambda *_: agent.loop.post(agent.loop.stop)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        agent.runtime.start()
        agent.loop.run()
    return agent.runtime.exit_code
