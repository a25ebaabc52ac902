"""The core stays pure, checked on its source the way tests/firmware/test_toolchain.py checks the firmware's import
rules: every module in agent/core imports only pure standard-library modules, the JOSE and JSON Schema libraries it
verifies with, and agent's own pure parts; and calls no clock, no global random source, no file or console I/O.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CORE = REPO / "agent" / "core"

PURE_STDLIB = {"__future__", "typing", "dataclasses", "enum", "collections", "functools", "itertools", "math",
               "json", "re", "hashlib", "base64", "unicodedata", "datetime", "random", "warnings"}
PURE_SUBMODULES = {"urllib.parse"}  # string parsing only; urllib.request (I/O) stays out
VERIFIERS = {"joserfc", "jsonschema", "cryptography"}  # pure computation on bytes and dicts: signatures and schemas
AGENT_PURE = ("agent.core", "agent.ports", "agent.errors")
# Package data read once at import: the same bytes on a unit, in tests and in the simulator.
PACKAGE_DATA = {"schemas.py": {"importlib"}}

IMPURE_BUILTINS = {"open", "print", "input", "breakpoint", "exec", "eval", "__import__"}
CLOCK_METHODS = {"now", "utcnow", "today", "fromtimestamp"}  # fromtimestamp only with an explicit tz (see below)
RANDOM_SOURCE = "Random"  # the core takes a random.Random; the module's own functions share a global state


def core_files() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def imported_modules(tree: ast.Module) -> set[str]:
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


def allowed(module: str, extra: set[str]) -> bool:
    top = module.split(".")[0]
    return (top in PURE_STDLIB | VERIFIERS | extra or module in PURE_SUBMODULES
            or any(module == own or module.startswith(own + ".") for own in AGENT_PURE))


def impure_calls(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name) and f.id in IMPURE_BUILTINS:
            found.append(f"{f.id}() at line {node.lineno}")
        elif isinstance(f, ast.Attribute) and f.attr in CLOCK_METHODS:
            if f.attr != "fromtimestamp" or len(node.args) + len(node.keywords) < 2:
                found.append(f".{f.attr}() without a given time zone at line {node.lineno}")
        elif (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "random"
              and f.attr != RANDOM_SOURCE):
            found.append(f"random.{f.attr}() (the global random source) at line {node.lineno}")
    return found


def test_the_core_has_modules_to_check() -> None:
    assert {"device.py", "verify.py", "arbiter.py"} <= {p.name for p in core_files()}


def test_the_core_imports_only_pure_modules() -> None:
    for path in core_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        extra = PACKAGE_DATA.get(path.relative_to(CORE).as_posix(), set())
        foreign = {m for m in imported_modules(tree) if not allowed(m, extra)}
        assert not foreign, f"{path.relative_to(REPO)} imports {sorted(foreign)}"


def test_the_core_reads_no_clock_global_random_file_or_console() -> None:
    for path in core_files():
        calls = impure_calls(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        assert not calls, f"{path.relative_to(REPO)}: {calls}"


def test_the_check_catches_what_it_is_for() -> None:
    """The rules themselves, on a few lines of impure code (so a broken check cannot pass silently)."""
    tree = ast.parse("import time\nimport socket\nfrom agent.adapters.mqtt import mqtt_paho\n"
                     "from datetime import datetime\nimport random\n"
                     "t = time.time()\nd = datetime.now()\nx = random.random()\nf = open('x')\n"
                     "ok = datetime.fromtimestamp(0, tz)\nr = random.Random(1)\n")
    assert sorted(m for m in imported_modules(tree) if not allowed(m, set())) == [
        "agent.adapters.mqtt", "socket", "time"]
    assert [c.split(" ")[0] for c in impure_calls(tree)] == [".now()", "random.random()", "open()"]
