"""`loa send`: one signed command to a device or a group, with the ack lifecycle shown live (--wait).

Must not import the agent's runtime or adapters.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from joserfc.jwk import OKPKey

from agent.core.topics import Target
from agent.errors import ConfigError
from province.console import BrokerAccess, Console, follow_acks
from province.keys import load_signing

Say = Callable[..., None]
FAILED = {"rejected", "failed", "expired"}


def access_from(args: argparse.Namespace) -> BrokerAccess:
    password = Path(args.password_file).read_text().strip() if args.password_file else ""
    return BrokerAccess(url=args.broker, username=args.username, password=password, ca=args.ca,
                        cert=args.cert, key=args.client_key)


def connect_console(args: argparse.Namespace) -> tuple[Console, OKPKey]:
    """The signing key first (a missing key is a clear error before any connection), then the broker."""
    key = load_signing(Path(args.key))
    return Console(access_from(args)), key


def parse_args_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"--args: not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ConfigError("--args: must be a JSON object")
    return value


def send(args: argparse.Namespace, say: Say) -> int:
    cmd_args = parse_args_json(args.args)
    target = Target("dev", args.device) if args.device else Target("grp", args.group)
    console, key = connect_console(args)
    try:
        if args.wait:
            console.subscribe(console.topics.all_reports("ack"))
        jti = console.send(key, target, args.command_name, cmd_args, lifetime_s=args.lifetime)
        say("sent", cmd=args.command_name, target=target.audience, jti=jti)
        if not args.wait:
            return 0
        return _follow(console, jti, target, args, say)
    finally:
        console.close()


def _follow(console: Console, jti: str, target: Target, args: argparse.Namespace, say: Say) -> int:
    expected = 1 if target.kind == "dev" else max(args.expect, 1)
    def show(dev: str, ack: dict[str, Any]) -> None:
        if expected <= 20:  # a whole province is summarised in counts, not 4,911 lines
            say("ack_line", **{**ack, "dev": dev})

    last = follow_acks(console, jti, args.wait, show, expected)
    if target.kind == "grp":
        states = [a["state"] for a in last.values()]
        say("group_counts", accepted=len(states), started=states.count("started"), finished=states.count("finished"),
            failed=sum(s in ("failed", "rejected") for s in states), silent=max(0, expected - len(last)))
    if len(last) < expected:
        say("no_ack", missing=target.audience, wait=args.wait)
        return 1
    failed = any(a["state"] in FAILED for a in last.values())
    return 1 if failed else 0
