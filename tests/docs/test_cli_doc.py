"""docs/cli.md says what the code does: its exit codes are tools.cli_shell's, its slug examples are what
tools.units_file.slug gives."""

from __future__ import annotations

import re
from pathlib import Path

from tools import cli_shell, units_file

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")


def test_the_exit_code_table_is_the_codes_loa_returns() -> None:
    section = DOC.split("## Exit codes", 1)[1]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)}
    codes = {value for name, value in vars(cli_shell).items() if name.startswith("EXIT_")}
    assert documented == codes


def test_the_slug_examples_are_what_the_rule_gives() -> None:
    examples = re.findall(r'"([^"]+)" →\s+`([a-z0-9-]+)`', DOC)
    assert len(examples) >= 4, examples
    for name, slug in examples:
        assert units_file.slug(name) == slug, name
