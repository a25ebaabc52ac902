"""`loa gateway`: the province's gateway into its HTTTN (long-running, SIGTERM-clean) and `loa gateway emulate`, an
HTTTN stand-in from the same profile. Parses arguments and hands over to tools.gateway; holds no decisions."""

from __future__ import annotations

import argparse
import signal
import threading
import tomllib
from pathlib import Path
from typing import Any

from agent import i18n
from agent.errors import ConfigError

HELP = "join the province's HTTTN: ping it for every unit and send it one bulletin log per play (until SIGTERM)"


def _say(args: argparse.Namespace, key: str, **params: Any) -> None:
    print(i18n.render(args.lang, key, params, package="tools.strings"), flush=True)


def cmd_gateway(args: argparse.Namespace) -> int:
    if args.gateway_command == "emulate":
        return cmd_emulate(args)
    if not args.config:
        raise ConfigError("loa gateway needs --config gateway.toml (or: loa gateway emulate)")
    from tools.gateway import config, service

    cfg = config.load(Path(args.config))
    service.run(cfg, lambda key, **p: _say(args, key, **p), Path(args.record) if args.record else None)
    return 0


def cmd_emulate(args: argparse.Namespace) -> int:
    from tools.gateway import profile
    from tools.gateway.emulator import Emulator

    loaded = profile.load(Path(args.profile) if args.profile else profile.DEFAULT)
    emulator = Emulator(loaded, _users(args.users), Path(args.db), args.port, args.host, _gateway(args, loaded))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    serving = threading.Thread(target=emulator.serve, daemon=True)
    serving.start()
    _say(args, "emulator_started", url=f"http://{args.host}:{emulator.server.server_port}", db=args.db)
    stop.wait()
    emulator.close()
    _say(args, "emulator_stopped")
    return 0


def _gateway(args: argparse.Namespace, loaded: Any) -> Any:
    """The gateway the emulator sends the HTTTN's calls to, with the token its credential has in gateway.toml."""
    from tools.gateway.emulator_send import GatewayClient

    if not args.gateway_url:
        return None
    if not args.gateway_token_file:
        raise ConfigError("--gateway-url needs --gateway-token-file (the token of one [inbound.clients] entry)")
    try:
        token = Path(args.gateway_token_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{args.gateway_token_file}: {exc.strerror}") from None
    return GatewayClient(loaded, args.gateway_url, token, args.gateway_ca)


def _users(path: str) -> dict[str, str]:
    """The logins the emulated HTTTN accepts: a TOML file of name = "password"."""
    try:
        table = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the emulator's users ({exc})") from None
    return {str(k): str(v) for k, v in table.items()}


def add_parser(sub: Any) -> None:
    p = sub.add_parser("gateway", help=HELP, description=HELP + ". Example: loa gateway --config gateway.toml")
    p.add_argument("--config", default="", help="gateway.toml")
    p.add_argument("--record", default="", help="log every request and reply with the HTTTN here (secrets masked)")
    p.set_defaults(fn=cmd_gateway, gateway_command="")
    gsub = p.add_subparsers(dest="gateway_command")
    e = gsub.add_parser("emulate", help="an HTTTN stand-in from the same profile (tests, demos, QA)")
    e.add_argument("--htttn-profile", dest="profile", default="",
                   help="the HTTTN dialect profile (default: the bundled default profile); `--profile` is the console's")
    e.add_argument("--port", type=int, required=True)
    e.add_argument("--host", default="127.0.0.1")
    e.add_argument("--users", required=True, help='TOML file of the logins it accepts: name = "password"')
    e.add_argument("--db", default="htttn-emulator.sqlite", help="where it keeps pings and logs (SQLite)")
    e.add_argument("--gateway-url", default="", help="the gateway's inbound API, to send it the HTTTN's calls")
    e.add_argument("--gateway-token-file", default="", help="the bearer token the emulator calls the gateway with")
    e.add_argument("--gateway-ca", default="", help="the CA of the gateway's TLS certificate (https)")
