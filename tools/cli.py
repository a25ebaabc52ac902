"""`loa`: the command line for technicians, the provincial console and QA. Parses arguments and hands over.

A user sees one clear line for any expected error (LoaError), never a traceback. Must hold no decisions.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent import i18n
from agent.core.topics import Target
from agent.errors import LoaError
from sim import cli as sim_cli
from tools import cli_beacon, cli_gateway, cli_hw, cli_identity, cli_update

Handler = Callable[[argparse.Namespace], int]


def say(args: argparse.Namespace, key: str, **params: Any) -> None:
    print(i18n.render(args.lang, key, params, package="tools.strings"), flush=True)


def cmd_keys_init(args: argparse.Namespace) -> int:
    from province import keys

    key = keys.init(Path(args.dir))
    say(args, "keys_written", signing=Path(args.dir) / keys.SIGNING, root=Path(args.dir) / keys.ROOT,
        trust=Path(args.dir) / keys.TRUST, kid=key.kid)
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    from agent import app
    from agent.adapters.system import journal
    from agent.config import unit as config

    cfg = config.load(args.config)
    journal.setup(cfg.device.id)
    return app.run(cfg)


def cmd_send(args: argparse.Namespace) -> int:
    from tools.send import send

    return send(args, lambda key, **p: say(args, key, **p))


def cmd_logs(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from tools import staff_logs
    from tools.send import connect_console

    query = {"kind": "lines", "level": args.level, "since_ts": staff_logs.since_ms(args.since, int(time.time() * 1000))}
    console, key = connect_console(args)
    try:
        answers = staff_logs.request(console, key, Target("dev", args.device), query, args.wait)
    finally:
        console.close()
    if args.device not in answers:
        say(args, "logs_silent", dev=args.device, wait=args.wait)
        return 1
    if not staff_logs.show_lines(answers[args.device], args.lang, ZoneInfo(args.tz), args.grep, print):
        say(args, "logs_none", dev=args.device)
    return 0


def cmd_playlog(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from tools import staff_logs
    from tools.send import connect_console

    target = Target("dev", args.device) if args.device else Target("grp", args.group)
    query = {"kind": "playlog", "since_ts": staff_logs.since_ms(args.since, int(time.time() * 1000)), "limit": 500}
    console, key = connect_console(args)
    try:
        answers = staff_logs.request(console, key, target, query, args.wait, expected=args.expect or 1)
    finally:
        console.close()
    with staff_logs.open_csv(args.out) as out:
        rows = staff_logs.write_playlog_csv(answers, out, ZoneInfo(args.tz))
    say(args, "playlog_written", rows=rows, units=len(answers), path=args.out)
    return 0 if answers else 1


def cmd_status(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from province.console import Console
    from tools import fleet_status
    from tools.send import access_from

    console = Console(access_from(args))
    try:
        statuses = fleet_status.collect(console, args.wait)
    finally:
        console.close()
    tz = ZoneInfo(args.tz)
    for commune, c in fleet_status.by_commune(statuses, {}).items():
        say(args, "status_commune", commune=commune, online=len(c.online), offline=len(c.offline))
        for dev in c.offline:
            say(args, "status_offline", dev=dev, seen=fleet_status.last_seen(statuses[dev], tz))
        for dev, faults in c.faults.items():
            say(args, "status_faults", dev=dev, faults=", ".join(faults))
        _say_times(args, statuses, c.online)
    say(args, "status_total", units=len(statuses), online=sum(1 for s in statuses.values() if s.get("online")))
    if late := fleet_status.untrusted(statuses):
        say(args, "status_untrusted", count=len(late), units=", ".join(late))
    return 0


def _say_times(args: argparse.Namespace, statuses: dict[str, dict[str, Any]], online: list[str]) -> None:
    """Each online unit's time: its source and offset, or that it has no trusted time."""
    from tools import fleet_status

    for dev in online:
        if (t := fleet_status.unit_time(statuses[dev])) is None:
            continue
        key = "status_time" if t.trusted else "status_time_untrusted"
        say(args, key, dev=dev, source=t.source or "clock_synced", offset=fleet_status.offset_text(t.offset_ms))


def cmd_demo(args: argparse.Namespace) -> int:
    from tools.demo import run_demo

    htttn = None
    if args.htttn:
        from tools.demo_htttn import session

        htttn = session(lambda key, **p: say(args, key, **p), args.lang, Path(args.dir) / "htttn")
    return run_demo(Path(args.dir), lambda text: say(args, "demo_step", text=text), htttn)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="loa", description="Loa: open agent and tools for commune loudspeaker clusters")
    p.add_argument("--lang", choices=i18n.LANGUAGES, default=i18n.default_language(dict(os.environ)))
    sub = p.add_subparsers(dest="command", required=True)
    keys = sub.add_parser("keys", help="command-signing keys").add_subparsers(dest="keys_command", required=True)
    k = keys.add_parser("init", help="make a signing key, the offline root key and the trust set for units")
    k.add_argument("dir")
    k.set_defaults(fn=cmd_keys_init)
    cli_identity.add_keys_parsers(keys)
    cli_identity.add_parsers(sub)  # ca, provision, broker
    cli_hw.add_parsers(sub)  # hw list, config check
    a = sub.add_parser("agent", help="run the agent in the foreground until SIGTERM/SIGINT")
    a.add_argument("--config", required=True)
    a.set_defaults(fn=cmd_agent)
    _send_args(sub.add_parser("send", help="sign and send a command, and follow its acks"))
    _logs_args(sub.add_parser("logs", help="show a unit's recent log lines in plain Vietnamese or English"))
    _playlog_args(sub.add_parser("playlog", help="export play logs of a unit or a commune to CSV"))
    _status_args(sub.add_parser("status", help="fleet overview from the units' retained status"))
    cli_beacon.add_parser(sub, _console_args)
    sim_cli.add_parser(sub)
    cli_update.add_parser(sub)  # loa release
    cli_gateway.add_parser(sub)  # loa gateway, loa gateway emulate
    d = sub.add_parser("demo", help="the embedded default: local broker, one agent on fake hardware, signed commands")
    d.add_argument("--dir", default=".loa-demo")
    d.add_argument("--htttn", action="store_true",
                   help="with the gateway and an emulated provincial HTTTN: a central bulletin and its log")
    d.set_defaults(fn=cmd_demo)
    return p


def _console_args(p: argparse.ArgumentParser, *, group: bool = True, wait: float = 0.0) -> None:
    """Who to talk to and as whom: shared by every console command."""
    if group:
        target = p.add_mutually_exclusive_group(required=True)
        target.add_argument("--device")
        target.add_argument("--group")
        p.add_argument("--expect", type=int, default=0, help="for a group: how many devices should answer")
    p.add_argument("--key", required=True, help="signing.jwk")
    p.add_argument("--broker", required=True)
    p.add_argument("--username", default="")
    p.add_argument("--password-file", default="")
    p.add_argument("--ca", default="")
    p.add_argument("--cert", default="")
    p.add_argument("--client-key", default="")
    p.add_argument("--wait", type=float, default=wait, help="wait for answers up to this many seconds")


def _send_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("command_name", metavar="COMMAND")
    p.add_argument("--args", default="{}", help="JSON object of arguments")
    _console_args(p)
    p.add_argument("--lifetime", type=int, default=300)
    p.set_defaults(fn=cmd_send)


def _logs_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("device", metavar="UNIT")
    _console_args(p, group=False, wait=10.0)
    p.add_argument("--since", help="30m, 2h, 1d or a date-time")
    p.add_argument("--level", choices=("debug", "info", "warning", "error"), default="info")
    p.add_argument("--grep", help="only lines containing this text (in the language shown)")
    p.add_argument("--tz", default="Asia/Ho_Chi_Minh")
    p.set_defaults(fn=cmd_logs)


def _status_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker", required=True)
    for flag in ("--username", "--password-file", "--ca", "--cert", "--client-key"):
        p.add_argument(flag, default="")
    p.add_argument("--wait", type=float, default=1.0, help="stop after this many seconds without a new status")
    p.add_argument("--tz", default="Asia/Ho_Chi_Minh")
    p.set_defaults(fn=cmd_status)


def _playlog_args(p: argparse.ArgumentParser) -> None:
    _console_args(p, wait=10.0)
    p.add_argument("--out", required=True, help="CSV file to write")
    p.add_argument("--since", help="30m, 2h, 1d or a date-time")
    p.add_argument("--tz", default="Asia/Ho_Chi_Minh")
    p.set_defaults(fn=cmd_playlog)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except LoaError as exc:
        for line in str(exc).splitlines():
            say(args, "error", msg=line)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
