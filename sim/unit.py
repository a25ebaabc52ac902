"""One simulated cluster: the real device core and agent runtime, an in-memory store, fake relays, a timed player,
and a real paho link on the shard's loop (sim.fastlink). The unit itself is the runtime's Link, so it can count traffic and
cut the network (a flap) without touching the core.

Must not import paho directly (sim.fastpaho does).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent import __version__
from agent.adapters.mqtt.mqtt_paho import LinkCallbacks, LinkSettings
from agent.core.device import Device, DeviceSettings, DeviceState, offline_status
from agent.core.sound import SoundSettings
from agent.core.timekeeping import NETWORK
from agent.core.topics import Topics
from agent.core.verify import Policy, TrustSet
from agent.fakes.memstore import Backlog, MemStore
from agent.fakes.relays import FakeRelays
from agent.fakes.timed import CachedPreparer, ClockBase, SimClock, TimedPlayer
from agent.runtime.agent_runtime import AgentRuntime
from agent.runtime.loop import Loop
from agent.runtime.parts import Parts
from agent.runtime.trusted_clock import TrustedClock
from sim.clocks import NETWORK as NETWORK_ONLY
from sim.clocks import NONE, ClockPlan, is_beacon
from sim.counters import Counters
from sim.fastlink import FastLink, FastOptions
from sim.fleet import Cluster
from sim.models import OLD_VERSION, Models, UnitProfile, play_duration_s

OFFLINE = offline_status()  # one shared will payload for every unit
NETWORK_ERROR_MS = 1000  # what a modem's network time is taken to be good to (the models draw errors up to 1 s)


@dataclass(frozen=True)
class ShardContext:
    """Everything the units of one shard share."""

    loop: Loop
    keys: TrustSet
    topics: Topics
    sound: SoundSettings
    models: Models
    clock: ClockBase
    backlog: Backlog
    counters: Counters
    url: str
    credentials: Callable[[str], tuple[str, str]]  # device id -> (username, password)
    ca: str = ""


# A simulated unit's sources tell its runtime at once (check_clock); the periodic check only notices readings
# going stale, so it can be slow: every unit of a shard pays for it.
SIM_CLOCK_CHECK_S = 15.0


class SimRuntime(AgentRuntime):
    """The agent runtime, with the first heartbeat shifted to the unit's random phase, and events from its fakes
    handled right after the event in hand: a unit's player and preparer answer on its own idle loop at once, not
    behind the whole shard's queue (which would make every unit's chain wait for every other unit's)."""

    def __init__(self, device: Device, loop: Loop, parts: Parts, *, phase_s: float, flush_rate_per_s: float,
                 on_trusted: Callable[[], None]) -> None:
        super().__init__(device, loop, parts, flush_rate_per_s=flush_rate_per_s, clock_check_s=SIM_CLOCK_CHECK_S)
        self.phase_s: float | None = phase_s
        self._on_trusted: Callable[[], None] | None = on_trusted  # once: the first moment its time is trusted

    def start(self) -> None:
        super().start()
        self._note_trust()

    def check_clock(self) -> None:
        super().check_clock()
        self._note_trust()

    def _note_trust(self) -> None:
        if self._on_trusted is not None and self.device.state.clock_synced:
            self._on_trusted()
            self._on_trusted = None

    def post_event(self, make: Any) -> None:
        self.deliver(make)  # every fake of a simulated unit runs on the shard's loop thread

    def timer_delay_s(self, name: str, delay_s: float) -> float:
        if name == "hb" and self.phase_s is not None:  # the first one only: later ones keep the core's period
            delay_s, self.phase_s = min(delay_s, self.phase_s), None
        return delay_s


def device_settings(ctx: ShardContext, cluster: Cluster, old: bool) -> DeviceSettings:
    m = ctx.models
    policy = Policy(device_id=cluster.device_id, groups=frozenset(cluster.groups), issuers=frozenset({"province"}))
    return DeviceSettings(
        device_id=cluster.device_id, groups=cluster.groups, zones=ctx.sound.zones, version=OLD_VERSION if old else __version__,
        policy=policy, topics=ctx.topics, heartbeat_s=m.heartbeat_s, reconnect_min_s=m.reconnect_min_s,
        reconnect_max_s=m.reconnect_max_s, reconnect_jitter=m.jitter, sound=ctx.sound,
    )


def link_settings(ctx: ShardContext, cluster: Cluster, old: bool) -> LinkSettings:
    username, password = ctx.credentials(cluster.device_id)
    return LinkSettings(
        url=ctx.url, client_id=f"loa-{cluster.device_id}", will_topic=ctx.topics.report(cluster.device_id, "status"),
        will_payload=OFFLINE, username=username, password=password, ca=ctx.ca, keepalive_s=ctx.models.keepalive_s,
        protocol="3.1.1" if old else "5",
    )


class SimUnit:
    def __init__(self, ctx: ShardContext, cluster: Cluster, profile: UnitProfile, bind: str, clock_plan: ClockPlan) -> None:
        self.ctx, self.cluster, self.profile, self.clock_plan = ctx, cluster, profile, clock_plan
        self.deaf_to_beacons = clock_plan.group in (NETWORK_ONLY, NONE)  # each group shows one source's reach
        self.online = False
        self.ever_up = False
        self.dark_until = 0.0  # loop time until which the unit's network is down (a flap)
        self.slot = 0.0  # loop time of its place in the connect ramp
        rng = random.Random(profile.seed)
        self.relays = FakeRelays(ctx.sound.zones)
        if profile.stuck_zone is not None:
            self.relays.stick(profile.stuck_zone, False)
        store = MemStore(ctx.backlog)
        self.system_clock = SimClock(ctx.clock, profile.skew_ms, profile.synced and not clock_plan.kind)
        self.clock = clock = TrustedClock(self.system_clock)
        device = Device(device_settings(ctx, cluster, profile.old_version), ctx.keys, DeviceState(), rng)
        player = TimedPlayer(ctx.loop, lambda: play_duration_s(ctx.models, rng), ctx.models.start_delay_s,
                             profile.player_fails, lambda play_id, kind: ctx.counters.play(kind, play_id, cluster.index))
        preparer = CachedPreparer(lambda make: self.runtime.post_event(make))  # answers only after boot()
        parts = Parts(relays=self.relays, store=store, clock=clock, link=self, player=player, preparer=preparer)
        self.runtime = SimRuntime(device, ctx.loop, parts, phase_s=profile.hb_phase_s,
                                  flush_rate_per_s=ctx.models.outbox_rate_per_s, on_trusted=self._trusted)
        self.booted_at = 0.0
        self.link = FastLink(ctx.loop, link_settings(ctx, cluster, profile.old_version), LinkCallbacks(
            on_up=self._up, on_down=self._down, on_message=self._message, on_puback=self.runtime.puback),
            FastOptions(bind_address=bind))

    # ---- lifecycle -----------------------------------------------------------------------------------------

    def boot(self) -> None:
        """Power on: the system clock reads what its plan says, and the modem's network time is on its way."""
        self.system_clock.skew_ms = self.clock_plan.skew_ms(self._true_ms(), self.profile.skew_ms)
        self.booted_at = time.time()
        if self.clock_plan.network_after_s is not None:
            self.ctx.loop.call_later(self.clock_plan.network_after_s, self._network_time)
        self.runtime.start()

    def _trusted(self) -> None:
        self.ctx.counters.trusted(self.cluster.index, time.time() - self.booted_at)

    def _true_ms(self) -> int:
        return int(time.time() * 1000) + self.ctx.clock.offset_ms

    def _network_time(self) -> None:
        """The simulated modem's answer to a network-time query: the fleet's true time, off by the network's error."""
        self.clock.observe(NETWORK, self._true_ms() + self.clock_plan.network_error_ms, NETWORK_ERROR_MS)
        self.runtime.check_clock()  # at once: the simulated sources speak on the loop, so no poll needs to notice

    def flap(self, dark_s: float) -> None:
        """The unit's cell goes dark: the link dies without a goodbye and connects fail until it is back."""
        self.dark_until = self.ctx.loop.time() + dark_s
        if self.online:
            self.link.drop()

    def set_jitter(self, on: bool) -> None:
        self.runtime.device.backoff.jitter = on

    # ---- link callbacks (on the loop) ----------------------------------------------------------------------

    def _up(self) -> None:
        c = self.ctx.counters
        if not self.ever_up:  # latency from the scheduled ramp slot, not from the attempt: no coordinated omission
            self.ever_up = True
            c.first_connect.record_value(max(1, int((self.ctx.loop.time() - self.slot) * 1e6)))
        self.online = True
        c.up(self.cluster.index)
        self.runtime.link_up()

    def _down(self, reason: str) -> None:
        self.ctx.counters.down(self.online)
        self.online = False
        self.runtime.link_down(reason)

    def _message(self, topic: str, payload: bytes, retained: bool) -> None:
        self.ctx.counters.msgs_in += 1
        if self.deaf_to_beacons and is_beacon(payload):
            return  # the `none` clock group never gets the beacon (sim.clocks)
        self.runtime.message(topic, payload, retained)

    # ---- the runtime's Link port ---------------------------------------------------------------------------

    def connect(self) -> None:
        self.ctx.counters.attempt()
        if self.ctx.loop.time() < self.dark_until:
            self.ctx.loop.post(lambda: self._down("network unreachable (simulated flap)"))
            return
        self.link.connect()

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int | None:
        self.ctx.counters.sent(topic)
        return self.link.publish(topic, payload, qos, retain)

    def subscribe(self, topics: tuple[str, ...], qos: int = 1) -> None:
        self.link.subscribe(topics, qos)

    def close(self) -> None:
        self.link.close()
