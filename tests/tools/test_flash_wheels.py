"""The wheelhouse flash.sh puts on a card holds exactly what this Loa needs for the target: real pip, real wheels."""

from __future__ import annotations

from pathlib import Path

from tools import flash_wheels


def test_a_wheel_left_from_an_older_build_does_not_ride_onto_the_card(tmp_path: Path):
    out = tmp_path / "wheels"
    out.mkdir()
    stale = out / "matplotlib-3.9.0-cp311-cp311-manylinux_2_17_aarch64.whl"  # the unit stopped needing it
    stale.write_bytes(b"not a wheel")
    wheels = flash_wheels.build(out, "aarch64", "3.11")
    names = {w.name.split("-")[0].lower() for w in wheels}
    assert not stale.exists() and "matplotlib" not in names
    assert {"loa", "paho_mqtt", "cryptography"} <= names, names
    assert all("x86_64" not in w.name for w in wheels)
