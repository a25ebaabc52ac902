"""A tiny test runner for MicroPython (no pytest there): imports each module of MODULES, calls every test_*
function, prints one line per test and a closing 'N passed, N failed' line.

Run inside MicroPython by tests/firmware/mpy_run.mjs; also runs on CPython. Imports only the test modules.
"""

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

MODULES = ("test_crc16", "test_frames", "test_failsafe", "test_coproc", "test_sensors", "test_relays")


def load(name: str) -> "ModuleType":
    module = __import__("tests.firmware." + name)
    for part in ("firmware", name):
        module = getattr(module, part)
    return module


def tests_of(module: "ModuleType") -> "list[tuple[str, Callable[[], None]]]":
    names = [name for name in dir(module) if name.startswith("test_")]
    return [(name, getattr(module, name)) for name in sorted(names) if callable(getattr(module, name))]


def report(exc: Exception) -> None:
    printer = getattr(sys, "print_exception", None)  # MicroPython's; CPython has traceback instead
    if printer is not None:
        printer(exc)
    else:
        import traceback

        traceback.print_exception(exc)


def firmware_origin() -> str:
    """Where the firmware logic was loaded from: a .py source or a compiled .mpy."""
    return str(getattr(__import__("firmware.coproc").coproc, "__file__", "?"))


def run_one(qualified: str, fn: "Callable[[], None]") -> bool:
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 -- a runner reports every failure and goes on
        print("FAIL " + qualified)
        report(exc)
        return False
    print("PASS " + qualified)
    return True


def main() -> int:
    print(f"runtime: {sys.implementation.name} {sys.version}")
    print("firmware: " + firmware_origin())
    passed = failed = 0
    for name in MODULES:
        for test_name, fn in tests_of(load(name)):
            if run_one(f"tests.firmware.{name}.{test_name}", fn):
                passed += 1
            else:
                failed += 1
    print(f"{passed} passed, {failed} failed")
    return failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
