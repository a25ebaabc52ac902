"""The `loa hw list` and `loa config check` commands: what hardware hw/ describes (boards with their zones and
wiring sheet, modems, audio outputs), and a unit's bundle checked without starting it, every problem at once in
Vietnamese and English. tools.cli registers them; this module parses, renders and holds no decisions.

`loa config check` exits 0 when the bundle is fine, 1 when it has problems (all listed), 2 on a usage error (no
such file, bad arguments). Must not import the agent's adapters or runtime.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from agent import i18n
from agent.catalog import boards, fit
from agent.catalog.monitors import load_monitor
from agent.config import check
from agent.config.engine import Problem

OK, PROBLEMS, USAGE = 0, 1, 2
WIRING = "WIRING.md"


def say(args: argparse.Namespace, message: str, lang: str | None = None, /, **params: Any) -> None:
    print(render(lang or args.lang, message, **params), flush=True)


def render(lang: str, message: str, /, **params: Any) -> str:
    return i18n.render(lang, message, params, package="tools.strings")


# ---- loa hw list ---------------------------------------------------------------------------------------------------


def cmd_hw_list(args: argparse.Namespace) -> int:
    say(args, "hw_boards")
    for name in boards.names("boards"):
        board = boards.load_board(name)
        zones = ", ".join(f"{z}→{_channel_label(board, c)}" for z, c in board.zones)
        say(args, "hw_board", name=name, title=board.title, kind=board.kind, zones=zones, wiring=wiring_doc(name))
    say(args, "hw_modems")
    for name in boards.names("modems"):
        modem = boards.load_modem(name)
        say(args, "hw_modem", name=name, title=modem.title, port=modem.at_port)
    say(args, "hw_audio")
    for name in boards.names("audio"):
        audio = boards.load_audio(name)
        say(args, "hw_audio_output", name=name, title=audio.title, output=audio.output)
    say(args, "hw_monitors")
    for name in boards.names("monitors"):
        say(args, "hw_monitor", name=name, title=load_monitor(name).title)
    say(args, "hw_fake")
    return OK


def _channel_label(board: boards.Board, number: int) -> str:
    return next((c.label or str(c.number) for c in board.channels if c.number == number), str(number))


def wiring_doc(name: str, hw_dir: Path = boards.HW_DIR) -> str:
    """Where the wiring sheet speaks of this board: hw/WIRING.md and its heading, or the sheet alone."""
    sheet = hw_dir / WIRING
    headings = re.findall(r"^#+ (.+)$", sheet.read_text(encoding="utf-8"), re.MULTILINE) if sheet.is_file() else []
    heading = next((h for h in headings if f"`{name}`" in h), "")
    return f"hw/{WIRING} § {heading}" if heading else f"hw/{WIRING}"


# ---- loa config check ----------------------------------------------------------------------------------------------


def cmd_config_check(args: argparse.Namespace) -> int:
    path = Path(args.config)
    try:
        problems = check.check(path, fit.problems)
    except FileNotFoundError:
        say(args, "check_no_file", path=path)
        return USAGE
    other = "en" if args.lang == "vi" else "vi"
    for problem in problems:
        say(args, "check_problem", text=problem_text(args.lang, problem))
        say(args, "check_problem_other", text=problem_text(other, problem))
    if problems:
        for lang in (args.lang, other):
            say(args, "check_failed", lang, path=path, count=len(problems))
        return PROBLEMS
    for lang in (args.lang, other):
        say(args, "check_ok", lang, path=path)
    return OK


def problem_text(lang: str, problem: str) -> str:
    """A coded problem rendered from tools/strings (its English template gives the agent's own line); any other
    problem line as it is."""
    if not isinstance(problem, Problem):
        return render(lang, "cfg_other", text=problem)
    text = render(lang, f"cfg_{problem.code}", key=problem.key, **problem.params)
    suggest = problem.params.get("suggest")
    return text + render(lang, "cfg_suggest", suggest=suggest) if suggest else text


# ---- parsers -------------------------------------------------------------------------------------------------------


def add_parsers(sub: Any) -> None:
    """Register `hw` (list) and `config` (check)."""
    hw = sub.add_parser("hw", help="the hardware described in hw/").add_subparsers(dest="hw_command", required=True)
    hw.add_parser("list", help="boards (zones, wiring sheet), modems, audio outputs and health monitors").set_defaults(fn=cmd_hw_list)
    config = sub.add_parser("config", help="a unit's configuration").add_subparsers(dest="config_command",
                                                                                   required=True)
    c = config.add_parser("check", help="check a unit's config.toml and its bundle files; every problem at once "
                          "(exit 0 fine, 1 problems, 2 usage)")
    c.add_argument("config", help="the unit's config.toml (its bundle files next to it)")
    c.set_defaults(fn=cmd_config_check)
