"""Coverage-guided fuzzing of the command decoder (agent.core.verify) and the device's message handling: raw
tokens, JSON signed as claims, and JSON signed as the args of every known command (see tests/fuzz/targets.py).

    .venv/bin/python -m tests.fuzz.atheris_commands -runs=200000 -print_final_stats=1
"""

from collections.abc import Callable

from tests.fuzz.atheris_run import run


def _load() -> Callable[[bytes], object]:
    from tests.fuzz import targets

    return targets.command


if __name__ == "__main__":
    run("commands", _load)
