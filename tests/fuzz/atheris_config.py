"""Coverage-guided fuzzing of the configuration parser (agent.config.unit.parse) from TOML bytes.

    .venv/bin/python -m tests.fuzz.atheris_config -runs=200000 -print_final_stats=1
"""

from collections.abc import Callable

from tests.fuzz.atheris_run import run


def _load() -> Callable[[bytes], object]:
    from tests.fuzz import targets

    return targets.config_text


if __name__ == "__main__":
    run("config", _load)
