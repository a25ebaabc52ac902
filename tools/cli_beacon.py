"""`loa beacon`: the province's signed time beacon, long-running (what a systemd service on the province server
runs; docs/beacon.md). Signs a `time` command for each --group every --every seconds and publishes it QoS 0, not
retained; one log line per beacon; stops on SIGTERM or SIGINT.

Parses arguments and hands over to province.beacon; must not import the agent's runtime or adapters.
"""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent import i18n

HELP = ("send the signed time beacon to groups every N seconds until stopped (SIGTERM/SIGINT): units without NTP "
        "or network time take their trusted time from it")


def _say(args: argparse.Namespace, key: str, **params: Any) -> None:
    print(i18n.render(args.lang, key, params, package="tools.strings"), flush=True)


def cmd_beacon(args: argparse.Namespace) -> int:
    from province.beacon import BeaconSender, check_every, check_groups
    from province.console import Console
    from province.keys import load_signing
    from tools.send import access_from

    # bad input fails before any connection
    groups, every_s, key = check_groups(args.group), check_every(args.every), load_signing(Path(args.key))
    console = Console(access_from(args))
    try:
        sender = BeaconSender(key, groups, lambda topic, token: console.publish(topic, token, qos=0),
                              topics=console.topics, every_s=every_s,
                              on_sent=lambda group, t_ms, jti: _say(args, "beacon_sent", group=group, jti=jti,
                                                                    time=_utc(t_ms)),
                              on_failed=lambda group, why: _say(args, "beacon_failed", group=group, why=why))
        stop = _stop_on_signals()
        _say(args, "beacon_started", groups=", ".join(groups), every=f"{args.every:g}")
        sent = sender.run(stop)
    finally:
        console.close()
    _say(args, "beacon_stopped", sent=sent)
    return 0


def _utc(t_ms: int) -> str:
    return datetime.fromtimestamp(t_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _s, _f: stop.set())
    return stop


def add_parser(sub: Any, console_args: Any) -> None:
    """`loa beacon`; console_args adds the shared broker/identity flags (tools.cli)."""
    p = sub.add_parser("beacon", help=HELP, description=HELP + ". Example: loa beacon --group province "
                       "--every 300 --key keys/signing.jwk --broker mqtt://127.0.0.1:1884 --username console "
                       "--password-file console.pw")
    p.add_argument("--group", action="append", default=[], required=True,
                   help="a group to send to (repeat for several; e.g. province)")
    p.add_argument("--every", type=float, default=300.0, help="seconds between beacons (default 300)")
    console_args(p, group=False)
    p.set_defaults(fn=cmd_beacon)
