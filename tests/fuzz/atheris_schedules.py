"""Coverage-guided fuzzing of schedules: JSON args through the schema, agent.core.schedule.parse_slots, next_start,
the quiet-hours check and the device's `schedule` command.

    .venv/bin/python -m tests.fuzz.atheris_schedules -runs=200000 -print_final_stats=1
"""

from collections.abc import Callable

from tests.fuzz.atheris_run import run


def _load() -> Callable[[bytes], object]:
    from tests.fuzz import targets

    return targets.schedule_bytes


if __name__ == "__main__":
    run("schedules", _load)
