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

import agent
from agent import i18n
from agent.core.topics import Target
from agent.errors import LoaError
from sim import cli as sim_cli
from tools import (
    cli_beacon,
    cli_dashboard,
    cli_gateway,
    cli_hw,
    cli_identity,
    cli_shell,
    cli_staff,
    cli_update,
    profile,
)
from tools.cli_shell import EXIT_INCOMPLETE, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_LINK, EXIT_OK, json_line
from tools.user_input import Refusal

Handler = Callable[[argparse.Namespace], int]


def say(args: argparse.Namespace, key: str, **params: Any) -> None:
    print(i18n.render(args.lang, key, params, package="tools.strings"), flush=True)


def cmd_keys_init(args: argparse.Namespace) -> int:
    from province import keys

    for existing in (Path(args.dir) / keys.SIGNING, Path(args.dir) / keys.ROOT):
        if existing.exists():  # no --force: units trust these keys, and only a rotation replaces them
            raise Refusal("keys_exist", path=existing, dir=args.dir)
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
    from tools.send import list_commands, send

    if not args.command_name:
        return list_commands(lambda key, **p: say(args, key, **p))
    if not (args.device or args.group):
        raise Refusal("arg_one_of", opts="--device --group")
    return send(args, lambda key, **p: None if args.json else say(args, key, **p))


def cmd_logs(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from tools import staff_logs

    query = {"kind": "lines", "level": args.level, "since_ts": staff_logs.since_ms(args.since, int(time.time() * 1000))}
    answers = _ask(args, Target("dev", args.device), query, 1)
    if args.json:
        print(json_line(staff_logs.as_json(answers.get(args.device), args.lang, ZoneInfo(args.tz), args.grep)))
        return EXIT_OK if args.device in answers else EXIT_INCOMPLETE
    if args.device not in answers:
        say(args, "logs_silent" if args.key else "logs_silent_staff", dev=args.device, wait=args.wait)
        return EXIT_INCOMPLETE
    if not staff_logs.show_lines(answers[args.device], args.lang, ZoneInfo(args.tz), args.grep, print):
        say(args, "logs_none", dev=args.device)
    return EXIT_OK


def cmd_playlog(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from tools import staff_logs, table_out
    from tools.user_input import writable

    out, fmt = Path(args.out), table_out.format_of(Path(args.out), args.format)
    writable(out)  # before the wait, not after it
    table_out.require(fmt)
    target = Target("dev", args.device) if args.device else Target("grp", args.group)
    query = {"kind": "playlog", "since_ts": staff_logs.since_ms(args.since, int(time.time() * 1000)), "limit": 500}
    answers = _ask(args, target, query, args.expect or 1)
    table = staff_logs.playlog_table(answers, ZoneInfo(args.tz))
    table_out.write(table, out, fmt, args.lang)
    if args.json:
        print(json_line({"rows": len(table.rows), "units": sorted(answers), "path": str(out), "format": fmt}))
    else:
        say(args, "playlog_written", rows=len(table.rows), units=len(answers), path=args.out)
    return EXIT_OK if answers else EXIT_INCOMPLETE


def _ask(args: argparse.Namespace, target: Target, query: dict[str, Any], expected: int) -> dict[str, list[Any]]:
    """With --key, the signed `logs` command; without, the read-only log request that staff credentials allow."""
    from province.console import Console
    from tools import staff_logs
    from tools.send import access_from, connect_console

    if not args.key:
        console = Console(access_from(args))
        try:
            return staff_logs.ask(console, target, query, args.wait, expected)
        finally:
            console.close()
    console, key = connect_console(args)
    try:
        return staff_logs.request(console, key, target, query, args.wait, expected)
    finally:
        console.close()


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
    if args.json:
        print(json_line(fleet_status.as_json(statuses)))
        return 0
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


def parser(lang: str | None = None) -> argparse.ArgumentParser:
    lang = lang or i18n.default_language(dict(os.environ))
    p = cli_shell.parser_class(lang)(prog="loa", description="Loa: open agent and tools for commune loudspeaker "
                                     "clusters")
    cli_shell.add_anywhere_options(p, lang, agent.__version__)
    sub = p.add_subparsers(dest="command", required=True)
    keys = sub.add_parser("keys", help="command-signing keys").add_subparsers(dest="keys_command", required=True)
    k = keys.add_parser("init", help="make a signing key, the offline root key and the trust set for units")
    k.add_argument("dir")
    k.set_defaults(fn=cmd_keys_init)
    cli_identity.add_keys_parsers(keys)
    cli_identity.add_parsers(sub)  # ca, provision, broker
    cli_staff.add_parser(sub)  # staff add, revoke, list
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
    cli_dashboard.add_parser(sub, _broker_args)  # loa dashboard, loa dashboard password
    d = sub.add_parser("demo", help="the embedded default: local broker, one agent on fake hardware, signed commands")
    d.add_argument("--dir", default=".loa-demo")
    d.add_argument("--htttn", action="store_true",
                   help="with the gateway and an emulated provincial HTTTN: a central bulletin and its log")
    d.set_defaults(fn=cmd_demo)
    return p


def _console_args(p: argparse.ArgumentParser, *, group: bool = True, wait: float = 0.0, target: bool = True,
                  key: bool = True) -> None:
    """Who to talk to and as whom: shared by every console command. --broker and --key may come from the profile
    (tools.profile); `needs` names what must be there once it is read."""
    if group:  # `target`: one of them is required (`loa send` alone needs neither)
        one = p.add_mutually_exclusive_group(required=target)
        one.add_argument("--device")
        one.add_argument("--group")
        p.add_argument("--expect", type=int, default=0, help="for a group: how many devices should answer")
    p.add_argument("--key", default="", help="signing.jwk (default: the profile's key)" if key else
                   "signing.jwk (default: the profile's); without one, staff credentials and the read-only log request")
    _broker_args(p)
    p.add_argument("--wait", type=float, default=wait, help="wait for answers up to this many seconds")
    p.set_defaults(needs=("broker", "key") if key else ("broker",))


def _broker_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker", default="", help="mqtt://HOST:PORT or mqtts://HOST:PORT (default: the profile's)")
    for flag in ("--username", "--password-file", "--ca", "--cert", "--client-key"):
        p.add_argument(flag, default="")
    p.set_defaults(needs=("broker",))


def _json_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON document (for scripts) instead of sentences")


def _send_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("command_name", metavar="COMMAND", nargs="?", help="without it: the list of commands")
    p.add_argument("--args", default="{}", help="JSON object of arguments, checked against the command's schema")
    _console_args(p, target=False)
    _json_arg(p)
    p.add_argument("--lifetime", type=int, default=300)
    p.set_defaults(fn=cmd_send)


def _logs_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("device", metavar="UNIT")
    _console_args(p, group=False, wait=10.0, key=False)
    p.add_argument("--since", help="30m, 2h, 1d or a date-time")
    p.add_argument("--level", choices=("debug", "info", "warning", "error"), default="info")
    p.add_argument("--grep", help="only lines containing this text (in the language shown)")
    p.add_argument("--tz", default="Asia/Ho_Chi_Minh")
    _json_arg(p)
    p.set_defaults(fn=cmd_logs)


def _status_args(p: argparse.ArgumentParser) -> None:
    _broker_args(p)
    p.add_argument("--wait", type=float, default=1.0, help="stop after this many seconds without a new status")
    p.add_argument("--tz", default="Asia/Ho_Chi_Minh")
    _json_arg(p)
    p.set_defaults(fn=cmd_status)


def _playlog_args(p: argparse.ArgumentParser) -> None:
    _console_args(p, wait=10.0, key=False)
    p.add_argument("--out", required=True, help="the file to write (.xlsx, .csv or .json)")
    p.add_argument("--format", choices=("xlsx", "csv", "json"),
                   help="xlsx for staff, csv (UTF-8 with BOM, ; between fields: Excel on Vietnamese Windows) or json; "
                   "default: from the --out extension, else csv")
    p.add_argument("--since", help="30m, 2h, 1d or a date-time")
    p.add_argument("--tz", default="Asia/Ho_Chi_Minh")
    _json_arg(p)
    p.set_defaults(fn=cmd_playlog)


def main(argv: list[str] | None = None) -> int:
    """Exit codes (docs/cli.md): 0 done; 1 done, but not every unit answered or succeeded; 2 bad input, refused
    before anything was sent; 3 the broker cannot be reached or refused us; 130 interrupted."""
    taken, rest = cli_shell.take_anywhere(sys.argv[1:] if argv is None else list(argv))
    lang = cli_shell.checked_language(taken, i18n.default_language(dict(os.environ)))
    args = parser(lang).parse_args(rest)
    args.lang = lang
    try:
        _with_profile(args, taken.get("profile"))
        return int(args.fn(args))
    except Refusal as exc:
        return _failed(args, exc.text(lang), EXIT_INPUT)
    except LoaError as exc:  # a broker link error is also a ConnectionError (province.console.LinkError)
        return _failed(args, str(exc), EXIT_LINK if isinstance(exc, ConnectionError) else EXIT_INPUT)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _with_profile(args: argparse.Namespace, explicit: str | None) -> None:
    """Options the line left out, from the profile; a needed one missing from both is an argument error."""
    needs: tuple[str, ...] = getattr(args, "needs", ())
    if not needs or getattr(args, "command_name", "") is None:  # `loa send` alone lists the commands
        return
    profile.fill(args, profile.load(*profile.where(explicit, dict(os.environ))))
    if missing := profile.missing(args, needs):
        text = i18n.render(args.lang, "arg_required_profile", {"opts": ", ".join(missing)}, package="tools.strings")
        cli_shell.say_error(args.lang, f"loa {args.command}", text)
        sys.exit(EXIT_INPUT)


def _failed(args: argparse.Namespace, text: str, code: int) -> int:
    for line in text.splitlines():
        say(args, "error", msg=line)
    return code


if __name__ == "__main__":
    sys.exit(main())
