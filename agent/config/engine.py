"""The one TOML -> frozen dataclass engine, shared by the unit's config.toml (agent.config.unit) and the hardware
descriptions in hw/ (agent.catalog): every problem is collected in one pass, each with its key path, an unknown key
gets a "did you mean" hint, and a value marked secret is never echoed back (errors and dumps show *** instead).

A section is a flat frozen dataclass whose fields are str, bool, int, float or tuple[X, ...]; a field may carry a
check (see `checked`). Must not import adapters, the core or anything that does I/O beyond reading the file given.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Self, TypeVar

from agent.errors import ConfigError

T = TypeVar("T")
Check = Callable[[Any], "str | None"]  # a problem with the value, or None
MASK = "***"


class Problem(str):
    """One problem as its English line ("key: what"), which is all the agent needs, plus what a bilingual report
    (`loa config check`) renders it from: the key path, a message code and its parameters."""

    key: str
    code: str
    params: dict[str, Any]

    def __new__(cls, key: str, code: str, text: str, **params: Any) -> Self:
        line = super().__new__(cls, f"{key}: {text}" if key else text)
        line.key, line.code, line.params = key, code, params
        return line


class Why(str):
    """A check's answer (English), with a code and parameters for other languages."""

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, text: str, **params: Any) -> Self:
        why = super().__new__(cls, text)
        why.code, why.params = code, params
        return why


class Problems(list[str]):
    """Problems found so far, one line each, starting with the key path."""


def checked(check: Check | None = None, *, secret: bool = False) -> dict[str, Any]:
    """A field's metadata: a check of its value, and whether it is secret (never shown in errors or dumps).

        timeout_s: int = field(default=60, metadata=checked(between(5, 1200)))
    """
    return {"check": check, "secret": secret}


# ---- checks ----------------------------------------------------------------------------------------------------


def between(low: float, high: float) -> Check:
    return lambda v: None if low <= v <= high else Why("between", f"must be between {low:g} and {high:g}",
                                                        low=f"{low:g}", high=f"{high:g}")


def one_of(*allowed: str) -> Check:
    return lambda v: None if v in allowed else Why("one_of", f"must be one of {', '.join(allowed)}",
                                                   allowed=", ".join(allowed))


def non_empty(v: Any) -> str | None:
    return None if v else Why("empty", "must not be empty")


# ---- reading ---------------------------------------------------------------------------------------------------


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The parsed file; ConfigError naming the file for a missing, unreadable or malformed one."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read {what} ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def closest(word: str, choices: Iterable[str]) -> str:
    """The choice closest to `word`, or "" when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return close[0] if close else ""


def hint(word: str, choices: Iterable[str]) -> str:
    """ (did you mean 'x'?) for the closest choice, or nothing."""
    close = closest(word, choices)
    return f" (did you mean '{close}'?)" if close else ""


def shown_key(key: str) -> str:
    """A key as it can stand on one error line: TOML allows line breaks and blanks in quoted keys."""
    return key if key.isprintable() and key.strip() == key and key else repr(key)


def unknown_keys(table: Mapping[str, Any], known: Iterable[str], prefix: str, problems: Problems) -> None:
    known = list(known)
    problems.extend(Problem(f"{prefix}{shown_key(key)}", "unknown_key", f"unknown key{hint(key, known)}",
                            suggest=closest(key, known)) for key in table if key not in known)


# ---- building sections -----------------------------------------------------------------------------------------


def build(cls: type[T], table: Any, where: str, problems: Problems, *, given: Mapping[str, Any] | None = None
          ) -> T | None:
    """A section from its TOML table; each problem is added with its key. A wrong value is left out, so the section
    is still built from its default (later cross-checks then see the rest); None when a required value is absent.
    `given` holds fields the caller built itself; they are not looked up in the table."""
    if not isinstance(table, dict):
        problems.append(Problem(where, "not_a_table", "must be a table"))
        return None
    given = dict(given or {})
    hints = typing.get_type_hints(cls)
    spec = [f for f in dataclasses.fields(typing.cast(Any, cls)) if f.name not in given]
    unknown_keys(table, [f.name for f in spec], f"{where}.", problems)
    values: dict[str, Any] = {}
    for f in spec:
        key = f"{where}.{f.name}"
        if f.name not in table:
            if f.default is dataclasses.MISSING:
                problems.append(Problem(key, "missing", "required key is missing"))
            continue
        value = table[f.name]
        problem = type_problem(value, hints[f.name]) or _value_problem(value, f)
        if problem:
            problems.append(_bad_value(key, problem, _shown(value, f)))
        else:
            values[f.name] = _converted(value, hints[f.name])
    try:
        return cls(**values, **given)
    except TypeError:
        return None  # a required key is missing; already reported


def _bad_value(key: str, why: str, shown: str) -> Problem:
    """A wrong value: its code is the check's (between, one_of, ...) or "value" for a check that gives none."""
    code, params = (why.code, why.params) if isinstance(why, Why) else ("value", {"why": why})
    return Problem(key, code, f"{why} (got {shown})", got=shown, **params)


def type_problem(value: Any, hint_: Any) -> str | None:
    if typing.get_origin(hint_) is tuple:
        item = typing.get_args(hint_)[0]
        ok = isinstance(value, list) and all(_is(v, item) for v in value)
        return None if ok else Why("type_list", f"must be a list of {item.__name__}", type=item.__name__)
    name = getattr(hint_, '__name__', hint_)
    return None if _is(value, hint_) else Why("type", f"must be {name}", type=name)


def _is(value: Any, hint_: Any) -> bool:
    if hint_ is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint_ is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint_) if isinstance(hint_, type) else False


def _converted(value: Any, hint_: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    return float(value) if hint_ is float else value


def _value_problem(value: Any, f: dataclasses.Field[Any]) -> str | None:
    check: Check | None = f.metadata.get("check")
    return check(value) if check else None


def _shown(value: Any, f: dataclasses.Field[Any]) -> str:
    return MASK if f.metadata.get("secret") else repr(value)


def as_dict(section: Any) -> dict[str, Any]:
    """A built section (nested sections too) as a dict for printing, secrets replaced by ***."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        if f.metadata.get("secret"):
            out[f.name] = MASK
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            out[f.name] = as_dict(value)
        else:
            out[f.name] = value
    return out
