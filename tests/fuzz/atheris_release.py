"""Coverage-guided fuzzing of downloaded release metadata (agent.core.release.read_release: raw, and JSON signed
by the trusted release key) and of bundle files (agent.adapters.system.release_bundle: read and unpack).

    .venv/bin/python -m tests.fuzz.atheris_release -runs=200000 -print_final_stats=1
"""

from collections.abc import Callable

from tests.fuzz.atheris_run import run


def _load() -> Callable[[bytes], object]:
    from tests.fuzz import targets

    return targets.release_input


if __name__ == "__main__":
    run("release", _load)
