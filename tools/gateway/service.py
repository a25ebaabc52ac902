"""The running gateway: one loop takes the console's messages and the ping clock into the outbox; sender threads
empty the outbox into the HTTTN. Stops cleanly on SIGTERM/SIGINT (what is not yet sent stays in the outbox).
Must hold no field names (they are the profile's)."""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from agent.core.topics import Topics
from province.console import Console
from tools.gateway import inbound_wiring
from tools.gateway.config import Config
from tools.gateway.north import North
from tools.gateway.outbox import Outbox
from tools.gateway.record import Recorder
from tools.gateway.sender import Senders
from tools.gateway.south import Outgoing, South

Say = Callable[..., None]
KEEP_SENT_MS = 7 * 24 * 3600 * 1000  # a unit re-sending a log within a week is recognised and not sent twice


def run(cfg: Config, say: Say, record: Path | None = None, stop: threading.Event | None = None) -> None:
    stop = stop or _stop_on_signals()
    with ExitStack() as parts:
        outbox = Outbox(Path(cfg.gateway.outbox))
        parts.callback(outbox.close)
        parts.callback(lambda: say("gateway_stopped", waiting=_waiting(outbox)))  # once the senders have stopped
        recorder = _recorder(cfg, record)
        if recorder:
            parts.callback(recorder.close)
        north = North(cfg.profile, cfg.base_url, cfg.credentials, cfg.gateway.concurrency, recorder)
        parts.callback(north.close)
        senders = Senders(outbox, north, say, concurrency=cfg.gateway.concurrency,
                          backoff_base_s=cfg.gateway.backoff_base_s, backoff_cap_s=cfg.gateway.backoff_cap_s)
        senders.start()
        parts.callback(senders.close)
        south = South(cfg.profile, Topics(cfg.broker.prefix), ping_s=cfg.gateway.ping_s,
                      wide_groups=cfg.gateway.wide_groups)
        console = Console(cfg.access(), Topics(cfg.broker.prefix), client_id=cfg.broker.client_id, persistent=True)
        parts.callback(console.close)
        console.subscribe(*south.filters())
        if cfg.inbound is not None:
            inbound_wiring.start(cfg, cfg.inbound, console, south, outbox, say, parts)
        say("gateway_started", url=cfg.base_url, broker=cfg.broker.url, ping_s=cfg.gateway.ping_s)
        _loop(console, south, outbox, say, stop)


def _waiting(outbox: Outbox) -> int:
    return sum(n for k, n in outbox.counts().items() if k.startswith("due"))


def _loop(console: Console, south: South, outbox: Outbox, say: Say, stop: threading.Event) -> None:
    next_tick = 0.0
    while not stop.is_set():
        try:
            topic, payload, _ = console.inbox.get(timeout=0.2)
        except queue.Empty:
            pass
        else:
            if out := south.heard(topic, payload, _now_ms()):
                _queue_log(outbox, out, say)
        if time.monotonic() >= next_tick:
            next_tick = time.monotonic() + 1.0
            for ping in south.pings_due(_now_ms()):
                outbox.put_ping(ping.key, ping.login, ping.body)
            outbox.prune(_now_ms() - KEEP_SENT_MS)


def _queue_log(outbox: Outbox, out: Outgoing, say: Say) -> None:
    if outbox.add_log(out.key, out.kind, out.login, out.body):
        say("gateway_log_queued", kind=out.kind, item=out.key)


def _recorder(cfg: Config, record: Path | None) -> Recorder | None:
    if record is None:
        return None
    login = cfg.profile.login
    return Recorder(record, (login.password_field, login.token_field))


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _now_ms() -> int:
    return int(time.time() * 1000)
