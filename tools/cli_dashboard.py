"""`loa dashboard` (the province's read-only page, until SIGTERM) and `loa dashboard password FILE` (its login
password, stored as a scrypt hash). Parses arguments and hands over to tools.dashboard; holds no decisions."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from agent import i18n
from agent.adapters.web import passwords
from tools.user_input import Refusal

HELP = "a read-only page of the fleet for the province: communes, units online/offline, faults, plays, a map"
MIN_PASSWORD = 10


def _say(args: argparse.Namespace, key: str, **params: Any) -> None:
    print(i18n.render(args.lang, key, params, package="tools.strings"), flush=True)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from tools.dashboard import service
    from tools.dashboard.server import WebSettings
    from tools.send import access_from

    if bool(args.tls_cert) != bool(args.tls_key):
        raise Refusal("arg_together", opt="--tls-cert", other="--tls-key")
    web = WebSettings(password_hash=_read_hash(args.password_hash), bind=args.bind, port=args.port,
                      language=args.lang, tls_cert=Path(args.tls_cert) if args.tls_cert else None,
                      tls_key=Path(args.tls_key) if args.tls_key else None)
    service.run(access_from(args), web, lambda key, **p: _say(args, key, **p), args.hot_c)
    return 0


def _read_hash(path: str) -> str:
    """The hash `loa dashboard password` wrote; there is no default password, so without it nothing starts."""
    if not path:
        raise Refusal("dash_no_password")
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        raise Refusal("file_missing", opt="--password-hash", path=path) from None
    if not text.startswith("scrypt$"):
        raise Refusal("dash_bad_hash", path=path)
    return text


def cmd_password(args: argparse.Namespace) -> int:
    from province.files import write_private

    if args.generate:
        password = passwords.new_password()
    elif sys.stdin.isatty():
        password = getpass.getpass(i18n.render(args.lang, "dash_password_prompt", {}, package="tools.strings"))
        if getpass.getpass(i18n.render(args.lang, "dash_password_again", {}, package="tools.strings")) != password:
            raise Refusal("dash_password_mismatch")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD:
        raise Refusal("dash_password_short", n=MIN_PASSWORD)
    write_private(Path(args.file), passwords.hash_password(password) + "\n")
    if args.generate:
        _say(args, "dash_password_generated", password=password)
    _say(args, "dash_password_written", path=args.file)
    return 0


def add_parser(sub: Any, broker_args: Any) -> None:
    """`loa dashboard`; broker_args adds the shared broker/identity flags (tools.cli): the console's identity, or a
    commune staff identity that may only read its units' reports."""
    p = sub.add_parser("dashboard", help=HELP, description=HELP + ". Example: loa dashboard password dash.hash; "
                       "loa dashboard --password-hash dash.hash --broker mqtt://127.0.0.1:1884 --username console "
                       "--password-file console.pw")
    p.add_argument("--password-hash", default="", help="the login's hash file, from: loa dashboard password FILE")
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8088)
    p.add_argument("--tls-cert", default="", help="serve HTTPS with this certificate (PEM) ...")
    p.add_argument("--tls-key", default="", help="... and its private key")
    p.add_argument("--hot-c", type=float, default=75.0, help="a board at this temperature or above is a fault")
    broker_args(p)
    p.set_defaults(fn=cmd_dashboard, dashboard_command="")
    dsub = p.add_subparsers(dest="dashboard_command")
    pw = dsub.add_parser("password", help="set the dashboard's login password (typed twice, or one line on stdin)")
    pw.add_argument("file", help="where the hash goes (mode 0600); give it to --password-hash")
    pw.add_argument("--generate", action="store_true", help="make a strong password and print it once")
    pw.set_defaults(fn=cmd_password, needs=())
