"""Coverage-guided fuzzing of the co-processor's serial frames, reusing tests/firmware/fuzz_frames.py's check of
one input (both codecs, the board's reply, agreement between them) instead of its random generator.

    .venv/bin/python -m tests.fuzz.atheris_frames -runs=200000 -print_final_stats=1
"""

from collections.abc import Callable

from tests.fuzz.atheris_run import run


def _load() -> Callable[[bytes], object]:
    from collections import Counter

    from tests.firmware import fuzz_frames
    from tests.firmware.support import Bench

    bench = Bench()

    def one(data: bytes) -> None:
        counts: fuzz_frames.Counts = {k: Counter() for k in ("firmware", "agent", "agent_reply", "problems")}
        fuzz_frames.compare_one(data, bench, counts)
        unexpected = [k for c in counts.values() for k in c if "UNEXPECTED" in k]
        assert not counts["problems"] and not unexpected, (dict(counts["problems"]), unexpected)

    return one


if __name__ == "__main__":
    run("frames", _load)
