"""Validation of command args and reports against the published JSON Schemas (agent/schemas, docs/protocol).

The schemas are package data read once at import. Must not import adapters.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from agent.core.json_check import Checker


@cache
def validator(name: str) -> Checker:
    """The schema's checker (agent.core.json_check: "integer" admits only real ints, not 180.0 nor bools)."""
    text = resources.files("agent.schemas").joinpath(f"{name}.json").read_text(encoding="utf-8")
    return Checker(json.loads(text))


@cache
def known_commands() -> frozenset[str]:
    names = (p.name for p in resources.files("agent.schemas").iterdir())
    return frozenset(n[4:-5] for n in names if n.startswith("cmd-") and n.endswith(".json"))


def args_problem(cmd: str, args: dict[str, Any]) -> str | None:
    """The first schema violation in a command's args, as one sentence; None when valid."""
    return _problem(cmd, json.dumps(args, sort_keys=True))


@lru_cache(maxsize=256)
def _problem(cmd: str, canonical_args: str) -> str | None:
    """Cached by the args' canonical JSON: a province-wide command is validated once per process, not once per unit
    of a simulator shard (the result depends on nothing else)."""
    error = next(iter(validator(f"cmd-{cmd}").iter_errors(json.loads(canonical_args))), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "args"
    return f"{where}: {error.message}"
