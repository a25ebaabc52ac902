"""A small JSON Schema (2020-12) checker for the keywords Loa's own schemas use (agent/schemas), so a unit does
not load `jsonschema` with `referencing`, `rpds` and `attrs` (several MiB of an idle agent) to check a command.

A schema that uses any other keyword is refused when it is loaded, never silently half-checked; a test compares
this checker with `jsonschema` on every schema. "integer" admits only real ints (not 180.0, not bools): the core
computes with ints. Pure: must not import adapters or do I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

ANNOTATIONS = frozenset({"$schema", "$id", "title", "description", "default", "contentEncoding", "$defs"})
Path = tuple[str | int, ...]


class SchemaError(ValueError):
    """A schema this checker cannot apply faithfully (a keyword it does not know, a $ref outside the document)."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One way an instance breaks its schema: where (the instance's path) and what, as jsonschema words it."""

    absolute_path: Path
    message: str


class Checker:
    """One loaded schema; `iter_errors` yields the instance's violations in the schema's keyword order (the names
    are jsonschema's, so callers and tests read both the same way)."""

    def __init__(self, schema: Any) -> None:
        _check_keywords(schema)
        self.schema = schema

    def iter_errors(self, instance: Any) -> Iterator[Violation]:
        return _problems(self.schema, instance, (), self.schema)


def _check_keywords(schema: Any) -> None:
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        raise SchemaError(f"a schema must be an object or a boolean, not {schema!r}")
    for word, value in schema.items():
        if word not in _KEYWORDS and word not in ANNOTATIONS:
            raise SchemaError(f"keyword {word!r} is not supported")
        for sub in _subschemas(word, value):
            _check_keywords(sub)


def _subschemas(word: str, value: Any) -> list[Any]:
    if word in ("properties", "patternProperties", "$defs"):
        return list(value.values())
    if word in ("oneOf", "anyOf", "allOf"):
        return list(value)
    if word in ("items", "additionalProperties", "if", "then", "else", "not"):
        return [value]
    return []


def _problems(schema: Any, instance: Any, path: Path, root: Any) -> Iterator[Violation]:
    if schema is True:
        return
    if schema is False:
        yield Violation(path, f"False schema does not allow {instance!r}")
        return
    for word, value in schema.items():
        rule = _KEYWORDS.get(word)
        if rule is not None:
            yield from rule(value, instance, path, schema, root)


def _valid(schema: Any, instance: Any, root: Any) -> bool:
    return next(_problems(schema, instance, (), root), None) is None


def _is_type(instance: Any, name: str) -> bool:
    if isinstance(instance, bool):
        return name == "boolean"
    return isinstance(instance, _TYPES[name])


_TYPES: dict[str, type | tuple[type, ...]] = {
    "integer": int, "number": (int, float), "string": str, "object": dict, "array": list,
    "boolean": bool, "null": type(None),
}


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return (type(a) is type(b) or (_is_type(a, "number") and _is_type(b, "number"))) and a == b


Rule = Callable[[Any, Any, Path, dict[str, Any], Any], Iterator[Violation]]


def _type(value: Any, instance: Any, path: Path, _s: dict[str, Any], _r: Any) -> Iterator[Violation]:
    names = value if isinstance(value, list) else [value]
    if not any(_is_type(instance, n) for n in names):
        yield Violation(path, f"{instance!r} is not of type {', '.join(repr(n) for n in names)}")


def _properties(value: Any, instance: Any, path: Path, _s: dict[str, Any], root: Any) -> Iterator[Violation]:
    if isinstance(instance, dict):
        for name, sub in value.items():
            if name in instance:
                yield from _problems(sub, instance[name], (*path, name), root)


def _pattern_properties(value: Any, instance: Any, path: Path, _s: dict[str, Any], root: Any) -> Iterator[Violation]:
    if isinstance(instance, dict):
        for pattern, sub in value.items():
            for name in instance:
                if _search(pattern, name):
                    yield from _problems(sub, instance[name], (*path, name), root)


def _additional(value: Any, instance: Any, path: Path, schema: dict[str, Any], root: Any) -> Iterator[Violation]:
    if not isinstance(instance, dict):
        return
    known, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    extra = [n for n in instance if n not in known and not any(_search(p, n) for p in patterns)]
    if value is False and extra:
        names = ", ".join(repr(n) for n in extra)
        yield Violation(path, f"Additional properties are not allowed ({names} {'was' if len(extra) == 1 else 'were'} "
                            "unexpected)")
        return
    for name in extra:
        yield from _problems(value, instance[name], (*path, name), root)


def _required(value: Any, instance: Any, path: Path, _s: dict[str, Any], _r: Any) -> Iterator[Violation]:
    if isinstance(instance, dict):
        for name in value:
            if name not in instance:
                yield Violation(path, f"{name!r} is a required property")


def _count(word: str, kind: str, limit_ok: Callable[[int, int], bool], words: str) -> Rule:
    def rule(value: Any, instance: Any, path: Path, _s: dict[str, Any], _r: Any) -> Iterator[Violation]:
        if _is_type(instance, kind) and not limit_ok(len(instance), value):
            yield Violation(path, f"{instance!r} {words} {value}")
    rule.__name__ = word
    return rule


def _bound(word: str, ok: Callable[[Any, Any], bool], words: str) -> Rule:
    def rule(value: Any, instance: Any, path: Path, _s: dict[str, Any], _r: Any) -> Iterator[Violation]:
        if _is_type(instance, "number") and not ok(instance, value):
            yield Violation(path, f"{instance!r} is {words} {value!r}")
    rule.__name__ = word
    return rule


def _enum(value: Any, instance: Any, path: Path, _s: dict[str, Any], _r: Any) -> Iterator[Violation]:
    if not any(_equal(instance, v) for v in value):
        yield Violation(path, f"{instance!r} is not one of {value!r}")


def _const(value: Any, instance: Any, path: Path, _s: dict[str, Any], _r: Any) -> Iterator[Violation]:
    if not _equal(instance, value):
        yield Violation(path, f"{value!r} was expected")


def _pattern(value: Any, instance: Any, path: Path, _s: dict[str, Any], _r: Any) -> Iterator[Violation]:
    if isinstance(instance, str) and not _search(value, instance):
        yield Violation(path, f"{instance!r} does not match {value!r}")


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _search(pattern: str, text: str) -> bool:
    return _compiled(pattern).search(text) is not None


def _items(value: Any, instance: Any, path: Path, _s: dict[str, Any], root: Any) -> Iterator[Violation]:
    if isinstance(instance, list):
        for i, item in enumerate(instance):
            yield from _problems(value, item, (*path, i), root)


def _unique(value: Any, instance: Any, path: Path, _s: dict[str, Any], _r: Any) -> Iterator[Violation]:
    if value and isinstance(instance, list) and any(_equal(a, b) for i, a in enumerate(instance) for b in instance[i + 1:]):
        yield Violation(path, f"{instance!r} has non-unique elements")


def _one_of(value: Any, instance: Any, path: Path, _s: dict[str, Any], root: Any) -> Iterator[Violation]:
    matches = sum(_valid(sub, instance, root) for sub in value)
    if matches == 0:
        yield Violation(path, f"{instance!r} is not valid under any of the given schemas")
    elif matches > 1:
        yield Violation(path, f"{instance!r} is valid under each of more than one of the given schemas")


def _any_of(value: Any, instance: Any, path: Path, _s: dict[str, Any], root: Any) -> Iterator[Violation]:
    if not any(_valid(sub, instance, root) for sub in value):
        yield Violation(path, f"{instance!r} is not valid under any of the given schemas")


def _all_of(value: Any, instance: Any, path: Path, _s: dict[str, Any], root: Any) -> Iterator[Violation]:
    for sub in value:
        yield from _problems(sub, instance, path, root)


def _not(value: Any, instance: Any, path: Path, _s: dict[str, Any], root: Any) -> Iterator[Violation]:
    if _valid(value, instance, root):
        yield Violation(path, f"{value!r} should not be valid under the given schema")


def _if(value: Any, instance: Any, path: Path, schema: dict[str, Any], root: Any) -> Iterator[Violation]:
    branch = "then" if _valid(value, instance, root) else "else"
    if branch in schema:
        yield from _problems(schema[branch], instance, path, root)


def _ref(value: Any, instance: Any, path: Path, _s: dict[str, Any], root: Any) -> Iterator[Violation]:
    yield from _problems(_resolve(root, value), instance, path, root)


def _resolve(root: Any, ref: Any) -> Any:
    """Only references inside the same document ("#/$defs/name"): Loa's schemas never fetch another."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise SchemaError(f"$ref {ref!r} is not inside this schema")
    node = root
    for part in (p.replace("~1", "/").replace("~0", "~") for p in ref[1:].split("/") if p):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _nothing(_v: Any, _i: Any, _p: Path, _s: dict[str, Any], _r: Any) -> Iterator[Violation]:
    return iter(())  # applied by their "if" or "additionalProperties"


_KEYWORDS: dict[str, Rule] = {
    "type": _type, "properties": _properties, "patternProperties": _pattern_properties,
    "additionalProperties": _additional, "required": _required, "enum": _enum, "const": _const,
    "pattern": _pattern, "items": _items, "uniqueItems": _unique, "oneOf": _one_of, "anyOf": _any_of,
    "allOf": _all_of, "not": _not, "if": _if, "then": _nothing, "else": _nothing, "$ref": _ref,
    "minLength": _count("minLength", "string", lambda n, v: n >= v, "is shorter than"),
    "maxLength": _count("maxLength", "string", lambda n, v: n <= v, "is longer than"),
    "minItems": _count("minItems", "array", lambda n, v: n >= v, "should have at least items:"),
    "maxItems": _count("maxItems", "array", lambda n, v: n <= v, "should have at most items:"),
    "minProperties": _count("minProperties", "object", lambda n, v: n >= v, "should have at least properties:"),
    "maxProperties": _count("maxProperties", "object", lambda n, v: n <= v, "should have at most properties:"),
    "minimum": _bound("minimum", lambda x, v: x >= v, "less than the minimum of"),
    "maximum": _bound("maximum", lambda x, v: x <= v, "greater than the maximum of"),
    "exclusiveMinimum": _bound("exclusiveMinimum", lambda x, v: x > v, "less than or equal to the minimum of"),
    "exclusiveMaximum": _bound("exclusiveMaximum", lambda x, v: x < v, "greater than or equal to the maximum of"),
}
