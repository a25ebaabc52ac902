"""The one config engine behind config.toml and hw/: every problem in one pass with its key path, a "did you mean"
hint, values built from their defaults when wrong (so later cross-checks still run), and secrets never echoed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agent.config.engine import Problems, as_dict, between, build, checked, read_toml
from agent.errors import ConfigError


@dataclass(frozen=True)
class Section:
    name: str
    period_s: float = field(default=1.0, metadata=checked(between(0.1, 10)))
    zones: tuple[int, ...] = (1,)
    token: str = field(default="", metadata=checked(secret=True))


def test_every_problem_of_a_section_in_one_pass_with_its_key_path() -> None:
    problems = Problems()
    built = build(Section, {"period_s": 99, "zones": ["a"], "tokn": "x", "token": 5}, "s", problems)
    assert built is None  # name is required and absent
    assert problems == ["s.tokn: unknown key (did you mean 'token'?)", "s.name: required key is missing",
                        "s.period_s: must be between 0.1 and 10 (got 99)", "s.zones: must be a list of int (got ['a'])",
                        "s.token: must be str (got ***)"]


def test_a_wrong_value_leaves_its_default_and_the_rest_is_built() -> None:
    problems = Problems()
    built = build(Section, {"name": "n", "period_s": 0, "zones": [1, 2], "token": "hunter2"}, "s", problems)
    assert built == Section(name="n", period_s=1.0, zones=(1, 2), token="hunter2") and len(problems) == 1
    again = build(Section, {"name": "n", "period_s": 2}, "s", Problems())
    assert again is not None and isinstance(again.period_s, float)  # an int where a float is asked is taken as one


def test_secrets_are_masked_in_dumps() -> None:
    assert as_dict(Section(name="n", token="hunter2"))["token"] == "***"


def test_a_table_that_is_not_a_table_and_files_that_cannot_be_read(tmp_path: Path) -> None:
    problems = Problems()
    assert build(Section, ["x"], "s", problems) is None and problems == ["s: must be a table"]
    with pytest.raises(ConfigError, match="config file not found"):
        read_toml(tmp_path / "none.toml", "config file")
    (tmp_path / "bad.toml").write_text("[x\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_toml(tmp_path / "bad.toml", "config file")
