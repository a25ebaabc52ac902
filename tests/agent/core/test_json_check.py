"""agent.core.json_check judges every instance the way jsonschema (Draft 2020-12, with the strict "integer" the core
needs) does: on every published schema, for the docs' examples and for thousands of mutations of them (a member
dropped, added or replaced by an odd value), both agree on valid/invalid and on where the first problem is.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft202012Validator, validators

from agent.core.json_check import Checker, SchemaError
from tests.docs.test_protocol_doc import examples

ODD: list[Any] = [None, True, False, 0, -1, 1, 1.0, 180.0, 2.5, 10**9, -(10**9), "", " ", "x", "Lũ", "\t\n",
                  "x" * 2000, "https://a/b.mp3", "0" * 64, [], [1, 1], ["a", "a"], ["a"], {}, {"x": 1}]


def _strict_integer(_checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


Strict = validators.extend(
    Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integer))


def schema_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("agent.schemas").iterdir() if p.name.endswith(".json"))


def load(name: str) -> Any:
    return json.loads(resources.files("agent.schemas").joinpath(f"{name}.json").read_text(encoding="utf-8"))


def paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from paths(child, (*at, key))


def at_path(value: Any, at: tuple[Any, ...]) -> tuple[Any, Any]:
    """A deep copy of value and, in it, the node at `at`."""
    out = copy.deepcopy(value)
    node = out
    for key in at:
        node = node[key]
    return out, node


def mutations(seed: Any) -> Iterator[Any]:
    for at in list(paths(seed)):
        for odd in ODD:
            if not at:
                yield odd
                continue
            out, parent = at_path(seed, at[:-1])
            parent[at[-1]] = copy.deepcopy(odd)
            yield out
        if at:
            out, parent = at_path(seed, at[:-1])
            del parent[at[-1]]
            yield out
        out, node = at_path(seed, at)
        if isinstance(node, dict):
            node["unexpected"] = 1
            yield out


def first(errors: Iterator[Any]) -> tuple[Any, ...] | None:
    error = next(iter(errors), None)
    return None if error is None else tuple(error.absolute_path)


@pytest.mark.parametrize("name", schema_names())
def test_it_agrees_with_jsonschema_on_the_examples_and_their_mutations(name: str) -> None:
    schema = load(name)
    mine, theirs = Checker(schema), Strict(schema)
    seeds = examples(name) or [{}]
    checked = 0
    for seed in seeds:
        for instance in [seed, *mutations(seed)]:
            assert first(mine.iter_errors(instance)) == first(theirs.iter_errors(instance)), (name, instance)
            checked += 1
    assert checked > 20, name


def test_every_schema_loads_and_an_unknown_keyword_is_refused_not_ignored() -> None:
    for name in schema_names():
        Checker(load(name))
    with pytest.raises(SchemaError, match="format"):
        Checker({"type": "object", "properties": {"at": {"type": "string", "format": "date-time"}}})
    with pytest.raises(SchemaError, match="outside|not inside"):
        list(Checker({"$ref": "https://example.org/x.json"}).iter_errors(1))


@pytest.mark.parametrize("schema, instance, valid", [
    ({"type": "integer"}, 180.0, False),
    ({"type": "integer"}, True, False),
    ({"type": "number"}, False, False),
    ({"enum": [1]}, 1.0, True),
    ({"enum": [1]}, True, False),
    ({"const": False}, 0, False),
    ({"uniqueItems": True}, [1, 1.0], False),
    ({"uniqueItems": True}, [1, True], True),
    ({"maxLength": 2}, "Lũ", True),
    ({"oneOf": [{"type": "integer"}, {"minimum": 0}]}, 3, False),
    ({"if": {"const": 1}, "then": {"type": "string"}, "else": {"type": "integer"}}, 2, True),
    ({"additionalProperties": False, "patternProperties": {"^x": True}}, {"xa": 1, "b": 2}, False),
    (False, None, False),
    ({"allOf": [{"minimum": 1}, {"maximum": 3}]}, 4, False),
    ({"not": {"type": "string"}}, "x", False),
    ({"exclusiveMaximum": 3}, 3, False),
])
def test_the_edges_of_json_equality_and_types(schema: Any, instance: Any, valid: bool) -> None:
    assert (next(Checker(schema).iter_errors(instance), None) is None) is valid
    assert Strict(schema).is_valid(instance) is valid
