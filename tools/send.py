"""`loa send`: one signed command to a device or a group, with the ack lifecycle shown live (--wait); its args are
checked against the command's schema before anything is signed; alone, it lists the commands.

Must not import the agent's runtime or adapters.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from joserfc.jwk import OKPKey

from agent.config import engine
from agent.core import schemas
from agent.core.topics import Target
from province.console import BrokerAccess, Console, follow_acks
from province.keys import load_signing
from tools.cli_shell import json_line
from tools.user_input import Refusal, broker_url, read_password

Say = Callable[..., None]
FAILED = {"rejected", "failed", "expired"}


def access_from(args: argparse.Namespace) -> BrokerAccess:
    """The broker address and the password checked (one clear line for either) before any connection."""
    url = broker_url(args.broker)
    return BrokerAccess(url=url, username=args.username, password=read_password(args.password_file), ca=args.ca,
                        cert=args.cert, key=args.client_key)


def connect_console(args: argparse.Namespace) -> tuple[Console, OKPKey]:
    """The signing key first (a missing key is a clear error before any connection), then the broker."""
    key = load_signing(Path(args.key))
    return Console(access_from(args)), key


def parse_args_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise Refusal("args_not_json", why=str(exc)) from None
    if not isinstance(value, dict):
        raise Refusal("args_not_object")
    return value


def checked_args(cmd: str, text: str) -> dict[str, Any]:
    """A known command's args that its schema (agent/schemas) accepts: a unit would refuse anything else, so it is
    never signed."""
    if cmd not in schemas.known_commands():
        close = engine.closest(cmd, schemas.known_commands())
        raise Refusal("send_unknown_close" if close else "send_unknown", cmd=cmd, close=close)
    args = parse_args_json(text)
    if problem := schemas.args_problem(cmd, args):
        raise Refusal("send_bad_args", cmd=cmd, problem=problem)
    return args


def list_commands(say: Say) -> int:
    """`loa send` alone: every command a unit knows, with its schema's title."""
    say("send_commands")
    for cmd in sorted(schemas.known_commands()):
        title = str(schemas.validator(f"cmd-{cmd}").schema.get("title", ""))
        say("send_command", cmd=cmd, title=title.removeprefix(f"{cmd}: "))
    return 0


def send(args: argparse.Namespace, say: Say) -> int:
    cmd_args = checked_args(args.command_name, args.args)
    target = Target("dev", args.device) if args.device else Target("grp", args.group)
    console, key = connect_console(args)
    try:
        if args.wait:
            console.subscribe(console.topics.all_reports("ack"))
        jti = console.send(key, target, args.command_name, cmd_args, lifetime_s=args.lifetime)
        say("sent", cmd=args.command_name, target=target.audience, jti=jti)
        code, acks = _follow(console, jti, target, args, say) if args.wait else (0, {})
    finally:
        console.close()
    if args.json:
        print(json_line({"command": args.command_name, "target": target.audience, "jti": jti, "acks": acks}))
    return code


def _follow(console: Console, jti: str, target: Target, args: argparse.Namespace, say: Say
            ) -> tuple[int, dict[str, dict[str, Any]]]:
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
        return 1, last
    failed = any(a["state"] in FAILED for a in last.values())
    return (1 if failed else 0), last
