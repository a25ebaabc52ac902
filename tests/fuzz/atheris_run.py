"""Runs one fuzz target under atheris (libFuzzer, coverage-guided over the agent's code): the shared runner of the
tests/fuzz/atheris_*.py harnesses. Seeds come from tests/fuzz/corpus/<name>/ (never written to: new inputs go to a
temporary corpus); libFuzzer options pass through, e.g. -runs=200000 -print_final_stats=1.

A property violation is an uncaught exception: libFuzzer stops, prints it and writes the input to crash-<hash>.
Needs atheris (`.venv/bin/pip install atheris`); not imported by the test suite.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import atheris

SEEDS = Path(__file__).with_name("corpus")


def run(name: str, load: Callable[[], Callable[[bytes], Any]]) -> None:
    """`load` imports the target inside atheris' instrumentation, so the agent's branches guide the search."""
    with atheris.instrument_imports(include=["agent", "firmware", "tests.fuzz.targets", "tests.firmware"]):
        target = load()
    count = [0]

    def one_input(data: bytes) -> None:
        count[0] += 1
        target(data)

    args = [a for a in sys.argv]
    if not any(Path(a).is_dir() for a in args[1:] if not a.startswith("-")):
        work = tempfile.mkdtemp(prefix=f"loa-fuzz-{name}-")
        args += [work] + ([str(SEEDS / name)] if (SEEDS / name).is_dir() else [])
    atheris.Setup(args, one_input)
    atheris.Fuzz()
