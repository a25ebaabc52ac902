"""Running `loa sim` the way tools/cli.py does (its parser with the `sim` subcommand), for the tests."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from sim.cli import add_parser


def loa_sim(report: Path, *argv: str) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="loa")
    parser.add_argument("--lang", default="en")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sim", "--report", str(report), "--no-progress", *argv])
    assert args.fn(args) == 0
    return dict(json.loads((report / "report.json").read_text(encoding="utf-8")))
