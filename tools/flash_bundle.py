"""flash.sh's helper: stage a unit's bundle (its config and keys, the wheelhouse that installs Loa, Debian packages
the image lacks, the systemd unit, a SHA-256 manifest), put it into the card's FAT boot partition as /loa with the
first-boot hook (tools.flash_firstrun), read it back and compare; and render flash.sh's messages from tools/strings
so a technician reads them in Vietnamese or English.

    python -m tools.flash_bundle say KEY [name=value ...]
    python -m tools.flash_bundle boot --disk DISK_OR_IMAGE
    python -m tools.flash_bundle put --target DISK --bundle DIR --wheels DIR [--debs DIR] --report FILE
    python -m tools.flash_bundle summary --report FILE [name=value ...]

Standard library only (flash.sh may run it with the system's Python 3.11+): must not import third-party packages,
nor any of Loa except agent.i18n, agent.errors and tools.flash_*.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agent import i18n
from agent.adapters.storage.durable_files import file_sha256
from agent.errors import LoaError
from tools import flash_firstrun
from tools.flash_fat import FlashError, find_boot, get_tree, put_tree

REPO = Path(__file__).resolve().parents[1]
LOA_DIR = "loa"
SERVICE = Path("agent/systemd/loa-agent.service")
NOT_SHIPPED = re.compile(r"(^|/)(state|__pycache__|\..*|.*\.log|.*\.pyc|.*\.egg-info)$")


@dataclass(frozen=True)
class Staged:
    root: Path  # the staged `loa` folder
    device_id: str
    groups: list[str]
    files: dict[str, str]  # path under loa/ -> SHA-256


@dataclass(frozen=True)
class Report:
    dev: str
    groups: str
    files: int
    offset: int
    partition: int


# ---- staging -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payload:
    """What installs the unit on its first boot, besides the bundle."""

    wheels: Path  # a wheelhouse from tools.flash_wheels (Loa's wheel and its dependencies)
    debs: Path | None = None  # Debian packages the image lacks


def stage(bundle: Path, work: Path, payload: Payload, repo: Path = REPO) -> Staged:
    device = _device(bundle)
    root = work / LOA_DIR
    shutil.copytree(bundle, root / "bundle", ignore=lambda d, names: [n for n in names if NOT_SHIPPED.search(n)])
    shutil.copyfile(repo / SERVICE, root / SERVICE.name)
    _copy_files(payload.wheels, root / "wheels", "*.whl", required="loa-*.whl")
    if payload.debs is not None:
        _copy_files(payload.debs, root / "debs", "*.deb")
    files = _hashes(root)
    (root / "MANIFEST.sha256").write_text("".join(f"{h}  {p}\n" for p, h in sorted(files.items())))
    return Staged(root, str(device["id"]), list(device.get("groups", [])), _hashes(root))


def _device(bundle: Path) -> dict[str, Any]:
    try:
        doc = tomllib.loads((bundle / "config.toml").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FlashError(f"bundle {bundle} has no config.toml (make it with `loa provision`)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FlashError(f"{bundle / 'config.toml'} is not valid TOML ({exc})") from None
    device = doc.get("device")
    if not isinstance(device, dict) or not device.get("id"):
        raise FlashError(f"{bundle / 'config.toml'} has no [device] id")
    return device


def _copy_files(source: Path, into: Path, pattern: str, required: str = "") -> None:
    if required and not any(source.glob(required)):
        raise FlashError(f"{source} holds no {required} (make the wheelhouse with `python -m tools.flash_wheels`)")
    into.mkdir(parents=True, exist_ok=True)
    for item in sorted(source.glob(pattern)):
        shutil.copyfile(item, into / item.name)


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): file_sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


# ---- into the card and back ----------------------------------------------------------------------------------------


def put(target: Path, bundle: Path, work: Path, payload: Payload) -> Report:
    """Stage, copy into the boot partition with the first-boot hook, read everything back and compare; raises
    FlashError on any difference."""
    staged = stage(bundle, work / "stage", payload)
    part = find_boot(target)
    put_tree(part, staged.root)
    flash_firstrun.install(part, REPO, work / "hook")
    back = _hashes(get_tree(part, LOA_DIR, work / "readback"))
    bad = sorted(p for p, h in staged.files.items() if back.get(p) != h)
    if bad:
        raise FlashError(f"{LOA_DIR}/{bad[0]} read back from the boot partition differs from the bundle")
    return Report(staged.device_id, ", ".join(staged.groups), len(staged.files), part.offset, part.number)


# ---- command line (for flash.sh) -----------------------------------------------------------------------------------


def say(lang: str, message: str, /, **params: Any) -> str:
    return i18n.render(lang, message, params, package="tools.strings")


def _pairs(items: list[str]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in items if "=" in item)


def _cmd_put(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="loa-flash-") as work:
        payload = Payload(Path(args.wheels), Path(args.debs) if args.debs else None)
        report = put(Path(args.target), Path(args.bundle), Path(work), payload)
    Path(args.report).write_text(json.dumps(asdict(report)), encoding="utf-8")
    print(say(args.lang, "flash_bundle_copied", **asdict(report)), flush=True)


def _cmd_summary(args: argparse.Namespace) -> None:
    values = {**json.loads(Path(args.report).read_text(encoding="utf-8")), **_pairs(args.values)}
    for key in ("title", "image", "target", "unit", "bundle", "firmware", "time"):
        print(say(args.lang, f"flash_summary_{key}", **values))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.flash_bundle", description="flash.sh's helper")
    p.add_argument("--lang", choices=i18n.LANGUAGES, default=i18n.default_language(dict(os.environ)))
    sub = p.add_subparsers(dest="action", required=True)
    s = sub.add_parser("say")
    s.add_argument("key")
    s.add_argument("values", nargs="*")
    s.set_defaults(fn=lambda a: print(say(a.lang, a.key, **_pairs(a.values)), flush=True))
    b = sub.add_parser("boot", help="print the byte offset of the FAT boot partition")
    b.add_argument("--disk", required=True)
    b.set_defaults(fn=lambda a: print(find_boot(Path(a.disk)).offset), error="flash_refused")
    u = sub.add_parser("put")
    for name in ("--target", "--bundle", "--wheels", "--report"):
        u.add_argument(name, required=True)
    u.add_argument("--debs")
    u.set_defaults(fn=_cmd_put)
    m = sub.add_parser("summary")
    m.add_argument("--report", required=True)
    m.add_argument("values", nargs="*")
    m.set_defaults(fn=_cmd_summary)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.fn(args)
    except LoaError as exc:
        print(say(args.lang, getattr(args, "error", "flash_failed"), msg=str(exc)), file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
