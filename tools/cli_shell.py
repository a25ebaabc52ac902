"""The shell around every `loa` command: `--lang` and `--profile` taken anywhere on the line, argument errors as
one line in the reader's language (argparse's own are English and two lines), and the documented exit codes
(docs/cli.md). Must not import the agent's runtime or adapters.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any, NoReturn

from agent import i18n
from tools.user_input import STRINGS

EXIT_OK, EXIT_INCOMPLETE, EXIT_INPUT, EXIT_LINK, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
ANYWHERE = ("--lang", "--profile")

# argparse's messages, recognised to be said again in the reader's language; anything else is shown as it is
_ARGPARSE = [
    (re.compile(r"the following arguments are required: (?P<opts>.+)"), "arg_required"),
    (re.compile(r"unrecognized arguments: (?P<args>.+)"), "arg_unknown"),
    (re.compile(r"argument (?P<opt>\S+): invalid choice: '?(?P<value>[^' ]*)'? \(choose from (?P<choices>.+)\)"),
     "arg_choice"),
    (re.compile(r"argument (?P<opt>\S+): expected one argument"), "arg_needs_value"),
    (re.compile(r"argument (?P<opt>\S+): invalid (?P<kind>int|float) value: '(?P<value>.*)'"), "arg_number"),
    (re.compile(r"argument (?P<opt>\S+): not allowed with argument (?P<other>\S+)"), "arg_together"),
    (re.compile(r"one of the arguments (?P<opts>.+) is required"), "arg_one_of"),
]


class LoaParser(argparse.ArgumentParser):
    """An argument error is one line on stderr in the reader's language, exit code 2 (never a usage dump)."""

    language = "en"

    def error(self, message: str) -> NoReturn:
        say_error(self.language, self.prog, translate(self.language, message))
        sys.exit(EXIT_INPUT)


def parser_class(lang: str) -> type[LoaParser]:
    """The parser class for one run (subparsers are made from their parent's class, so all speak `lang`)."""
    return type("Parser", (LoaParser,), {"language": lang})


def translate(lang: str, message: str) -> str:
    for pattern, key in _ARGPARSE:
        if m := pattern.fullmatch(message):
            return i18n.render(lang, key, m.groupdict(), package=STRINGS)
    return message


def say_error(lang: str, prog: str, text: str) -> None:
    print(i18n.render(lang, "usage_error", {"prog": prog, "msg": text}, package=STRINGS), file=sys.stderr, flush=True)


def take_anywhere(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """`--lang vi` / `--profile FILE` (or `--lang=vi`) wherever they stand, before `--`; the rest of the line."""
    taken: dict[str, str] = {}
    rest: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            rest += argv[i:]
            break
        name, eq, value = word.partition("=")
        if name in ANYWHERE and (eq or i + 1 < len(argv)):
            taken[name[2:]] = value if eq else argv[i + 1]
            i += 1 if eq else 2
            continue
        rest.append(word)
        i += 1
    return taken, rest


def checked_language(taken: dict[str, str], default: str) -> str:
    lang = taken.get("lang", default)
    if lang not in i18n.LANGUAGES:
        text = i18n.render(default, "arg_choice", {"opt": "--lang", "value": lang,
                                                   "choices": ", ".join(i18n.LANGUAGES)}, package=STRINGS)
        say_error(default, "loa", text)
        sys.exit(EXIT_INPUT)
    return lang


def add_anywhere_options(p: argparse.ArgumentParser, lang: str, version: str) -> None:
    """For --help and --version only: take_anywhere has already removed --lang and --profile from the line."""
    p.add_argument("--lang", choices=i18n.LANGUAGES, default=lang,
                   help="vi or en, anywhere on the line (default: LOA_LANG, else the locale)")
    p.add_argument("--profile", help="console profile (default: $LOA_PROFILE, else ~/.config/loa/profile.toml)")
    p.add_argument("--version", action="version", version=f"loa {version}")


def json_line(value: Any) -> str:
    """What --json prints: one JSON document (times and paths as text)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
