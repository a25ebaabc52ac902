"""`loa --lang vi ... -h` is Vietnamese for every subcommand: no English word outside the technical tokens."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from tests.i18n.english_words import REPO, english_in, english_words
from tools import cli


def every_parser(p: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [p]
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += every_parser(sub)
    return found


def test_every_subcommands_help_is_vietnamese() -> None:
    words = english_words()
    parsers = every_parser(cli.parser("vi"))
    assert len(parsers) > 30, "the walk missed the subcommands"
    english = {p.prog: bad for p in parsers if (bad := english_in(p.format_help(), words))}
    assert english == {}, english


def test_the_english_help_is_the_codes_text() -> None:
    text = " ".join(cli.parser("en").format_help().split())
    assert "usage: loa" in text and "show this help message and exit" in text and "sign and send a command" in text


def test_loa_lang_vi_send_help_on_the_command_line() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "LOA_LANG": "en"}
    out = subprocess.run([sys.executable, "-m", "tools.cli", "send", "--lang", "vi", "-h"], env=env, cwd=REPO,
                         check=False, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("cách dùng: loa send") and "chờ trả lời tối đa" in out.stdout, out.stdout
    assert english_in(out.stdout, english_words()) == []
