"""What a unit installs: only the unit's libraries (the simulator's are the [sim] extra, a Pi 5's pin backend [pi]),
the libraries whose APIs change between minor versions pinned to one minor; and `loa sim` says clearly which [sim]
libraries an install left out."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys

from tests.conftest import REPO

SIM_ONLY = ("matplotlib", "numpy", "hdrhistogram", "pillow", "fonttools", "selenium")


def requirements(section: str, key: str) -> list[str]:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg", encoding="utf-8")
    return [line.strip() for line in cfg[section][key].splitlines() if line.strip() and not line.strip().startswith("#")]


def name(requirement: str) -> str:
    return re.split(r"[<>=\[ ]", requirement, maxsplit=1)[0].lower()


def test_a_unit_installs_no_simulator_library_and_the_extras_hold_them() -> None:
    unit = {name(r) for r in requirements("options", "install_requires")}
    assert not unit & set(SIM_ONLY), unit & set(SIM_ONLY)
    assert {name(r) for r in requirements("options.extras_require", "sim")} == {"hdrhistogram", "matplotlib"}
    assert [name(r) for r in requirements("options.extras_require", "pi")] == ["lgpio"]
    dev_extras = {e for r in requirements("options.extras_require", "dev") if name(r) == "loa"
                  for e in re.findall(r"\[(.*)\]", r)[0].split(",")}
    assert {"sim", "tools"} <= dev_extras  # the tests run the simulator and print labels


def test_pymodbus_and_paho_are_pinned_to_one_minor_version() -> None:
    pins = {name(r): r for r in requirements("options", "install_requires")}
    for lib in ("pymodbus", "paho-mqtt"):
        pin = re.fullmatch(rf"{lib}>=(\d+)\.(\d+),<(\d+)\.(\d+)", pins[lib])
        assert pin, pins[lib]
        major, minor, below_major, below_minor = map(int, pin.groups())
        assert (below_major, below_minor) == (major, minor + 1), pins[lib]


def test_loa_sim_names_the_missing_sim_libraries() -> None:
    hide = "import sys; sys.modules.update(hdrh=None, matplotlib=None); from tools.cli import main; sys.exit(main(['sim']))"
    done = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert "hdrhistogram, matplotlib" in done.stdout and "pip install 'loa[sim]'" in done.stdout


def test_the_simulators_modules_say_the_same_without_the_sim_libraries() -> None:
    for module in ("sim.counters", "sim.plots"):
        hide = f"import sys; sys.modules.update(hdrh=None, matplotlib=None); import {module}"
        done = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True, cwd=REPO, timeout=60,
                              check=False)
        assert done.returncode == 1 and "SimExtraMissing" in done.stderr, done.stderr
        assert "pip install 'loa[sim]'" in done.stderr.splitlines()[-1]
