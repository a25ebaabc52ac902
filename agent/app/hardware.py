"""Builds the unit's hardware from config for the composition root: the relays (fake, or a board described in
hw/), the co-processor's duties on the loop (host heartbeat, output levels), and the modem poller's thread.

Holds no decisions. Hardware libraries are imported only by their adapters, through agent.catalog.boards.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from agent.config.unit import Config
from agent.core.events import LevelObserved, Telemetry
from agent.errors import ConfigError, HardwareError, LoaError
from agent.fakes.relays import FakeRelays
from agent.ports import Relays
from agent.runtime.agent_runtime import AgentRuntime
from agent.runtime.loop import Loop

log = logging.getLogger("loa.agent")
COPROC_MAX_ON_S = 900  # the co-processor cuts any relay after 15 minutes unless an emergency renews it


def open_relays(cfg: Config) -> Relays:
    hw = cfg.hardware
    if hw.relays == "fake":
        return FakeRelays(hw.zones, journal=cfg.state_dir / "fake-relays.jsonl")
    from agent.catalog import boards as hw_boards

    try:
        return hw_boards.open_relays(hw.board, zones=hw.zones, serial_url=hw.serial_url or None)
    except HardwareError:
        raise
    except LoaError as exc:
        raise ConfigError(f"hardware.board: {exc}") from None


def is_coproc(cfg: Config) -> bool:
    if cfg.hardware.relays != "board":
        return False
    from agent.catalog import boards as hw_boards

    return hw_boards.load_board(cfg.hardware.board).kind == "coproc"


def every(loop: Loop, period_s: float, duty: Callable[[], Any]) -> None:
    """Run a hardware duty on the loop at a fixed period; a failure is logged and the duty goes on."""
    def tick() -> None:
        loop.call_later(period_s, tick)
        try:
            duty()
        except HardwareError as exc:
            log.error("%s", exc)

    loop.call_later(0.0, tick)


def attach_coproc(loop: Loop, relays: Any, runtime: AgentRuntime) -> None:
    """The host heartbeat keeps the co-processor's fail-safe from cutting the relays; levels are proof of play."""
    every(loop, relays.board.coproc.heartbeat_interval_s, relays.heartbeat)

    def level() -> None:
        measured = [v for v in relays.levels() if v is not None]
        runtime.post_event(lambda now: LevelObserved(now, max(measured, default=None)))

    every(loop, 1.0, level)


def start_modem_poller(cfg: Config, runtime: AgentRuntime) -> threading.Thread | None:
    """A query can block for seconds on a slow modem, so it runs on its own thread, never on the loop."""
    hw = cfg.hardware
    if not hw.modem_url:
        return None
    from agent.adapters.system.modem_at import ModemAT
    from agent.catalog.boards import load_modem

    modem = ModemAT(hw.modem_url, profile=load_modem(hw.modem))

    def poll() -> None:
        while True:
            try:
                reading = modem.query()
                runtime.post_event(lambda now, r=reading: Telemetry(now, r))
            except HardwareError as exc:
                log.warning("%s", exc)
            time.sleep(hw.modem_poll_s)

    thread = threading.Thread(target=poll, name="modem", daemon=True)
    thread.start()
    return thread
