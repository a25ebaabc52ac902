"""`loa staff add|revoke|list`: commune staff identities on a `loa broker` (read-only: their commune's reports and
the log request, province.staff). tools.cli registers it; this module parses and hands over, and holds no decisions.

Must not import the agent's adapters or runtime.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from agent import i18n
from agent.errors import ConfigError


def say(args: argparse.Namespace, message: str, /, **params: Any) -> None:
    print(i18n.render(args.lang, message, params, package="tools.strings"), flush=True)


def broker_dir(args: argparse.Namespace) -> Path:
    if not args.broker_dir:
        raise ConfigError("give --broker-dir DIR (a `loa broker` folder) or set LOA_BROKER_DIR")
    return Path(args.broker_dir)


def cmd_add(args: argparse.Namespace) -> int:
    from province import broker, staff

    root = broker_dir(args)
    password = staff.add(root, args.name, args.commune)
    say(args, "staff_added", name=args.name, commune=args.commune, path=password,
        port=broker.BrokerDir(root).port())
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from province import broker, staff

    root = broker_dir(args)
    if not staff.revoke(root, args.name):
        raise ConfigError(i18n.render(args.lang, "staff_unknown", {"name": args.name}, package="tools.strings"))
    say(args, "staff_revoked" if broker.running(root) else "staff_revoked_stopped", name=args.name)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from province import staff

    people = staff.listing(broker_dir(args))
    for name, commune in people:
        say(args, "staff_line", name=name, commune=commune)
    if not people:
        say(args, "staff_none")
    return 0


def add_parser(sub: Any) -> None:
    s = sub.add_parser("staff", help="commune staff: read-only broker identities that read logs without any key")
    cmds = s.add_subparsers(dest="staff_command", required=True)
    a = cmds.add_parser("add", help="a new staff identity of one commune (its password goes to a 0600 file)")
    a.add_argument("name")
    a.add_argument("--commune", required=True, help="the commune's group name (as in the units' device.groups)")
    r = cmds.add_parser("revoke", help="take a staff identity out at once (the broker cuts its session)")
    r.add_argument("name")
    lst = cmds.add_parser("list", help="every staff identity and its commune")
    for p, fn in ((a, cmd_add), (r, cmd_revoke), (lst, cmd_list)):
        p.add_argument("--broker-dir", default=os.environ.get("LOA_BROKER_DIR", ""), help="the `loa broker` folder")
        p.set_defaults(fn=fn)
