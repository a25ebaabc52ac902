"""`loa release` (keys and signed bundles for the `update` command) and `loa launch` (what systemd runs: the agent
from the active release slot, with roll-back). Parses arguments and hands over; holds no decisions.

Must not import the agent's runtime or adapters.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from agent import i18n


def _say(args: argparse.Namespace, key: str, **params: Any) -> None:
    print(i18n.render(args.lang, key, params, package="tools.strings"), flush=True)


def cmd_keygen(args: argparse.Namespace) -> int:
    from tools import release

    key = release.keygen(Path(args.dir))
    _say(args, "release_key_written", private=Path(args.dir) / release.RELEASE_KEY,
         trust=Path(args.dir) / release.RELEASE_TRUST, kid=key.kid)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from tools import release

    built = release.build(Path(args.key), version=args.version, source=Path(args.source) if args.source else None,
                          out=Path(args.out) if args.out else None, expires_days=args.expires_days, notes=args.notes)
    _say(args, "release_built", path=built.path, ver=built.version, size=built.size, sha256=built.sha256,
         expires=built.expires_s)
    url = args.url or "<the URL where units can download it>"
    print(json.dumps({"url": url, "sha256": built.sha256}, ensure_ascii=False))
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from tools import release

    summary = release.inspect(Path(args.bundle), Path(args.trust) if args.trust else None)
    digest = hashlib.sha256(Path(args.bundle).read_bytes()).hexdigest()
    print(json.dumps({"bundle_sha256": digest, **summary}, ensure_ascii=False, indent=2))
    return 0 if summary.get("verified") or not args.trust else 1


def cmd_launch(args: argparse.Namespace) -> int:
    from agent.app import launcher

    return launcher.main(["--config", args.config, *(["--supervise"] if args.supervise else [])])


def add_parser(sub: Any) -> None:
    """Adds `release keygen|build|inspect` and `launch` to the `loa` command's subparsers."""
    r = sub.add_parser("release", help="the offline release key and signed release bundles for `update`")
    rel = r.add_subparsers(dest="release_command", required=True)
    k = rel.add_parser("keygen", help="make the release key (keep it offline) and the trust set units need")
    k.add_argument("dir")
    k.set_defaults(fn=cmd_keygen)
    b = rel.add_parser("build", help="pack the agent and sign its release metadata into a bundle")
    b.add_argument("--key", required=True, help="release.jwk")
    b.add_argument("--version", help="default: __version__ of the packed source")
    b.add_argument("--source", help="the agent package folder to pack (default: the installed one)")
    b.add_argument("--out", help="bundle file to write (default: loa-agent-VERSION.bundle)")
    b.add_argument("--expires-days", type=float, default=90.0)
    b.add_argument("--notes", default="")
    b.add_argument("--url", default="", help="where the bundle will be served: prints the `update` args ready to send")
    b.set_defaults(fn=cmd_build)
    i = rel.add_parser("inspect", help="show a bundle's metadata and check it against a release trust set")
    i.add_argument("bundle")
    i.add_argument("--trust", help="release-trust.jwks")
    i.set_defaults(fn=cmd_inspect)
    launch = sub.add_parser("launch", help="start the agent from the active release slot (what systemd runs)")
    launch.add_argument("--config", required=True)
    launch.add_argument("--supervise", action="store_true", help="restart the agent here instead of under systemd")
    launch.set_defaults(fn=cmd_launch)
