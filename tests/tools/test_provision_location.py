"""`loa provision --lat --lon --monitor`: the unit's location goes into its config ([device] location), which its
status reports for the province's system; a half location, one out of range or an unknown monitor is refused."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.tools.test_provision_hw import config_check, provision


def test_the_location_and_monitor_reach_the_config(tmp_path: Path, keys: Path) -> None:
    assert provision(tmp_path, keys, "u-1", "--lat", "13.9876", "--lon", "107.9543", "--monitor", "pi-mains-ina219") == 0
    doc = tomllib.loads((tmp_path / "u-1" / "config.toml").read_text(encoding="utf-8"))
    assert doc["device"]["location"] == [13.9876, 107.9543]
    assert doc["hardware"]["monitor"] == "pi-mains-ina219"
    assert config_check(tmp_path / "u-1" / "config.toml").returncode == 0


def test_no_location_leaves_it_out(tmp_path: Path, keys: Path) -> None:
    assert provision(tmp_path, keys, "u-1") == 0
    doc = tomllib.loads((tmp_path / "u-1" / "config.toml").read_text(encoding="utf-8"))
    assert "location" not in doc["device"]


@pytest.mark.parametrize(("extra", "why"), [
    (["--lat", "13.9"], "give both"),
    (["--lat", "113.9", "--lon", "107.9"], "must be degrees"),
    (["--monitor", "pi-basik"], "hw/monitors"),
])
def test_bad_location_or_monitor_is_refused(tmp_path: Path, keys: Path, extra: list[str], why: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert provision(tmp_path, keys, "u-1", *extra) != 0
    assert why in capsys.readouterr().out
    assert not (tmp_path / "u-1" / "config.toml").exists()
