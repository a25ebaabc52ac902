"""Property fuzzing with hypothesis (modest example counts; the coverage-guided runs are tests/fuzz/atheris_*.py):
every parser of outside input either accepts or refuses with its documented error, and a device never sounds,
switches or fetches anything for bytes nobody signed. Serial frames: tests/firmware/test_properties.py."""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.config.unit import _SECTIONS
from agent.core.release import PAYLOAD_MEMBER, TOKEN_MEMBER
from agent.core.schemas import validator
from tests.fuzz import targets

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c,
                                                                                         max_size=4), max_leaves=12)


def properties(schema: str) -> list[str]:
    return sorted(json.loads(json.dumps(validator(schema).schema)).get("properties", {}))


def objects(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts whose keys mostly come from a schema (ping and snapshot have none), with values of any JSON type."""
    names = (st.sampled_from(keys) | st.text(max_size=8)) if keys else st.text(max_size=8)
    return st.dictionaries(names, json_values, max_size=len(keys) + 1)


def mode(n: int, body: bytes) -> bytes:
    return bytes([n]) + body


@FUZZ
@given(st.binary(max_size=600))
def test_raw_bytes_are_never_a_command(data: bytes) -> None:
    targets.command(mode(0, data))


@FUZZ
@given(objects(properties("claims")))
def test_signed_claims_of_any_shape_are_checked_not_trusted(claims: dict[str, Any]) -> None:
    targets.command(mode(1, json.dumps(claims).encode()))


@FUZZ
@given(st.sampled_from(targets.COMMANDS).flatmap(lambda c: st.tuples(st.just(c), objects(properties(f"cmd-{c}")))))
def test_every_command_handles_any_args(case: tuple[str, dict[str, Any]]) -> None:
    cmd, args = case
    targets.command(mode(2, bytes([targets.COMMANDS.index(cmd)]) + json.dumps(args).encode()))


def section_values(name: str) -> st.SearchStrategy[dict[str, Any]]:
    fields = list(_SECTIONS[name].__dataclass_fields__)
    return st.dictionaries(st.sampled_from(fields) | st.text(max_size=8), json_values.filter(lambda v: v is not None),
                           max_size=len(fields))


@FUZZ
@given(st.dictionaries(st.sampled_from(sorted(_SECTIONS)) | st.text(max_size=6),
                       st.sampled_from(sorted(_SECTIONS)).flatmap(section_values) | json_values, max_size=8))
def test_any_config_is_parsed_or_refused_with_every_problem_named(raw: dict[str, Any]) -> None:
    targets.config_dict(raw)


@FUZZ
@given(st.text(max_size=400))
def test_any_config_text_is_parsed_or_refused(text: str) -> None:
    targets.config_text(text.encode())


times = st.builds(lambda h, m, s: f"{h:02d}:{m:02d}" + (f":{s:02d}" if s is not None else ""),
                  st.integers(0, 23), st.integers(0, 59), st.none() | st.integers(0, 59))
slots = st.fixed_dictionaries(
    {"at": times, "source": st.sampled_from([{"ref": "morning"}, {"stream": "http://radio.example.vn/live"}])},
    optional={"days": st.lists(st.integers(1, 7), min_size=1, max_size=7, unique=True),
              "duration_s": st.integers(1, 21600), "volume_pct": st.integers(0, 100), "title": st.text(max_size=40),
              "zones": st.lists(st.integers(1, 32), min_size=1, max_size=3)})


@FUZZ
@given(st.integers(1, 10**6), st.lists(slots, max_size=30))
def test_schedules_that_pass_the_schema_always_parse_and_have_a_next_start(version: int, raw: list[Any]) -> None:
    for slot in raw:  # streams need a duration (schema if/then)
        if "stream" in slot["source"]:
            slot.setdefault("duration_s", 60)
    targets.schedule_args({"version": version, "slots": raw})


@FUZZ
@given(json_values)
def test_any_schedule_args_are_checked(args: Any) -> None:
    targets.schedule_args(args)


@FUZZ
@given(st.binary(max_size=400))
def test_raw_bytes_are_never_release_metadata(data: bytes) -> None:
    targets.release_input(mode(0, data))


@FUZZ
@given(objects(properties("release")))
def test_signed_release_metadata_of_any_shape_is_checked(claims: dict[str, Any]) -> None:
    targets.release_input(mode(1, json.dumps(claims).encode()))


members = st.lists(st.tuples(st.sampled_from([TOKEN_MEMBER, PAYLOAD_MEMBER, "agent/__main__.py", "../x", "extra"]),
                             st.binary(max_size=200)), max_size=4)


def tar_of(entries: list[tuple[str, bytes]], compress: bool) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if compress else "w:") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@FUZZ
@given(members, members, st.integers(0, 3))
def test_bundles_of_any_content_are_read_or_refused_and_never_write_outside(outer: list[tuple[str, bytes]],
                                                                           inner: list[tuple[str, bytes]],
                                                                           cut: int) -> None:
    entries = [(n, tar_of(inner, True) if n == PAYLOAD_MEMBER else d) for n, d in outer]
    data = tar_of(entries, False)
    targets.release_input(mode(2, data[: len(data) - cut * 300] if cut else data))
