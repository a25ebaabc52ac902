"""`loa dashboard` running: one read-only broker session (statuses, heartbeats, play logs of every unit the identity
may read), one thread that feeds the reports to the fleet view, and the web server; until SIGTERM or SIGINT.

The broker identity is a parameter: the console's, or a commune staff identity that may only read its units' reports
(the broker's ACL then decides which units appear). Nothing here publishes.
Must not import the agent's runtime.
"""

from __future__ import annotations

import queue
import signal
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from province.console import BrokerAccess, Console
from tools.dashboard.fleet import Fleet
from tools.dashboard.server import Dashboard, WebSettings
from tools.user_input import Refusal

KINDS = ("status", "hb", "playlog")
PUBLISH_S = 0.3  # with the page's 1 s polling, a change shows within 1.5 s
Say = Callable[..., None]


def subscribe_all(console: Console) -> None:
    console.subscribe(*(console.topics.all_reports(kind) for kind in KINDS))


def feed(console: Console, fleet: Fleet, stop: threading.Event) -> None:
    """Every report into the fleet, in the order it came (the only thread that writes the fleet); the view is
    published when the reports pause, and while they keep coming every PUBLISH_S, or twice the time the last
    publish took (a province's view takes a while to build: reports must not wait behind it)."""
    due = time.monotonic() + PUBLISH_S
    while not stop.is_set():
        try:
            topic, payload, _ = console.inbox.get(timeout=PUBLISH_S)
        except queue.Empty:
            due = _publish(fleet)
            continue
        where = console.topics.device_of(topic)
        if where is not None and where[1] in KINDS:
            fleet.take(where[0], where[1], payload, int(time.time() * 1000))
        if time.monotonic() >= due:
            due = _publish(fleet)


def _publish(fleet: Fleet) -> float:
    """Publish the view; return when the next one may be built."""
    started = time.monotonic()
    fleet.publish()
    ended = time.monotonic()
    return ended + max(PUBLISH_S, 2 * (ended - started))


def _resubscribe_on_reconnect(console: Console) -> None:
    """paho reconnects by itself; a clean session forgets the subscriptions, so they are made again each time."""
    topics = [(console.topics.all_reports(kind), 1) for kind in KINDS]

    def connected(client: Any, _userdata: Any, _flags: Any, rc: Any, _props: Any) -> None:
        if not rc.is_failure:
            client.subscribe(topics)

    console.client.on_connect = connected


def run(access: BrokerAccess, web: WebSettings, say: Say, hot_c: float) -> None:
    fleet, stop = Fleet(hot_c), threading.Event()
    console = Console(access, client_id="")
    try:
        subscribe_all(console)
        _resubscribe_on_reconnect(console)
        feeder = threading.Thread(target=feed, args=(console, fleet, stop), name="dashboard-feed", daemon=True)
        feeder.start()
        dashboard = _listen(web, fleet)
        try:
            scheme = "https" if dashboard.secure else "http"
            say("dash_started", url=f"{scheme}://{_host(web.bind)}:{dashboard.port}/", broker=access.url)
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            stop.wait()
        finally:
            dashboard.close()
        feeder.join(2)
    finally:
        console.close()
    say("dash_stopped")


def _listen(web: WebSettings, fleet: Fleet) -> Dashboard:
    """The web server, or one clear line when its address cannot be taken or its certificate read."""
    try:
        return Dashboard(web, fleet)
    except (OSError, ssl.SSLError) as exc:
        raise Refusal("dash_cannot_listen", addr=f"{_host(web.bind)}:{web.port}", why=exc.strerror or exc) from None


def _host(bind: str) -> str:
    return f"[{bind}]" if ":" in bind else bind
