"""CI runs what README.md tells a developer to run: the gates before the tests, from one line in both places."""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEST_COMMAND = "./setup.sh --dev && .ci/gates && .venv/bin/python -m pytest"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    readme_commands = re.findall(r"^```\n(.+?)\n```$", readme, re.MULTILINE)
    assert readme_commands[1] == TEST_COMMAND  # the second command near the top
    assert (REPO / ".ci" / "run").read_text(encoding="utf-8").rstrip().splitlines()[-1] == TEST_COMMAND


def test_the_gates_are_executable_and_name_their_tools_in_the_venv() -> None:
    gates = REPO / ".ci" / "gates"
    assert os.access(gates, os.X_OK) and os.access(REPO / ".ci" / "run", os.X_OK)
    text = gates.read_text(encoding="utf-8")
    assert "set -euo pipefail" in text
    for tool in ("ruff", "mypy", "lint-imports", "vulture"):
        assert f'"$bin/{tool}"' in text, tool
