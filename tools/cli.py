"""`loa`: the command line for technicians, the provincial console and QA. Parses arguments and hands over.

A user sees one clear line for any expected error (LoaError), never a traceback. Must hold no decisions.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

from agent import i18n
from agent.errors import LoaError

Handler = Callable[[argparse.Namespace], int]


def say(args: argparse.Namespace, key: str, **params: Any) -> None:
    print(i18n.render(args.lang, key, params, package="tools.strings"), flush=True)


def cmd_keys_init(args: argparse.Namespace) -> int:
    from tools import keys

    key = keys.init(Path(args.dir))
    say(args, "keys_written", signing=Path(args.dir) / keys.SIGNING, trust=Path(args.dir) / keys.TRUST, kid=key.kid)
    return 0


def cmd_provision(args: argparse.Namespace) -> int:
    from tools.provision import UnitSpec, provision

    spec = UnitSpec(
        device_id=args.device_id, trust=Path(args.trust), broker_url=args.broker, out=Path(args.out), hw=args.hw,
        groups=tuple(args.group), audio=args.audio, quiet_hours=args.quiet_hours,
        broker_dir=Path(args.broker_dir) if args.broker_dir else None, ca=Path(args.ca) if args.ca else None,
    )
    say(args, "provisioned", dev=args.device_id, config=provision(spec))
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    from agent import app, config

    cfg = config.load(args.config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    app.run(cfg)
    return 0


def cmd_broker(args: argparse.Namespace) -> int:
    from tools import broker

    b = broker.init(Path(args.dir), args.port)
    say(args, "broker_ready", port=args.port, conf=b.conf, console=b.password_file(broker.CONSOLE))
    os.execv(broker.command(Path(args.dir))[0], broker.command(Path(args.dir)))


def cmd_send(args: argparse.Namespace) -> int:
    from tools.send import send

    return send(args, lambda key, **p: say(args, key, **p))


def cmd_demo(args: argparse.Namespace) -> int:
    from tools.demo import run_demo

    return run_demo(Path(args.dir), lambda text: say(args, "demo_step", text=text))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="loa", description="Loa: open agent and tools for commune loudspeaker clusters")
    p.add_argument("--lang", choices=i18n.LANGUAGES, default=i18n.default_language(dict(os.environ)))
    sub = p.add_subparsers(dest="command", required=True)
    keys = sub.add_parser("keys", help="command-signing keys").add_subparsers(dest="keys_command", required=True)
    k = keys.add_parser("init", help="make a signing key and the trust set for units")
    k.add_argument("dir")
    k.set_defaults(fn=cmd_keys_init)
    _provision_args(sub.add_parser("provision", help="write a unit's configuration bundle"))
    a = sub.add_parser("agent", help="run the agent in the foreground until SIGTERM/SIGINT")
    a.add_argument("--config", required=True)
    a.set_defaults(fn=cmd_agent)
    b = sub.add_parser("broker", help="run a local Mosquitto with a generated locked-down config")
    b.add_argument("dir")
    b.add_argument("--port", type=int, default=1883)
    b.set_defaults(fn=cmd_broker)
    _send_args(sub.add_parser("send", help="sign and send a command, and follow its acks"))
    d = sub.add_parser("demo", help="the embedded default: local broker, one agent on fake hardware, signed commands")
    d.add_argument("--dir", default=".loa-demo")
    d.set_defaults(fn=cmd_demo)
    return p


def _provision_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("device_id")
    p.add_argument("--trust", required=True, help="trust.jwks from `loa keys init`")
    p.add_argument("--broker", required=True, help="mqtts://HOST:PORT (or mqtt:// on a trusted network)")
    p.add_argument("--hw", default="fake")
    p.add_argument("--group", action="append", default=[])
    p.add_argument("--out", required=True)
    p.add_argument("--audio", help="null, alsa:<device> or wav:<dir>")
    p.add_argument("--quiet-hours", help="HH:MM-HH:MM or off")
    p.add_argument("--broker-dir", help="register the unit's own credentials with a `loa broker` folder")
    p.add_argument("--ca", help="CA certificate to pin for mqtts://")
    p.set_defaults(fn=cmd_provision)


def _send_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("command_name", metavar="COMMAND")
    p.add_argument("--args", default="{}", help="JSON object of arguments")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--device")
    target.add_argument("--group")
    p.add_argument("--key", required=True, help="signing.jwk")
    p.add_argument("--broker", required=True)
    p.add_argument("--username", default="")
    p.add_argument("--password-file", default="")
    p.add_argument("--ca", default="")
    p.add_argument("--expect", type=int, default=0, help="for a group: how many devices should answer")
    p.add_argument("--wait", type=float, default=0.0, help="follow the acks for up to this many seconds")
    p.add_argument("--lifetime", type=int, default=300)
    p.set_defaults(fn=cmd_send)


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
