"""The unit's health sensors over a fake kernel tree (agent.fakes.sysfs): the real reader, the monitor data of
hw/monitors and the composition root's factory; gpiozero's MockFactory stands in for the mains input."""

from __future__ import annotations

from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from agent.adapters.system.unit_sensors import UnitSensors, file_flag, hwmon_watts, link_type, temp_c
from agent.app import hardware
from agent.catalog.boards import names
from agent.catalog.monitors import load_monitor
from agent.config import unit as config
from agent.errors import ConfigError
from agent.fakes.sysfs import FakeSysfs

BASE = {"device": {"id": "u1"}, "mqtt": {"url": "mqtt://127.0.0.1:1", "allow_plain": True},
        "trust": {"jwks": "trust.jwks"}}


def sensors_for(tmp_path: Path, monitor: str, pin_factory: MockFactory | None = None) -> UnitSensors:
    cfg = config.parse(BASE | {"device": {"id": "u1", "state_dir": "state"},
                               "hardware": {"monitor": monitor, "sysfs_root": "sys-root"}}, base_dir=tmp_path)
    (tmp_path / "state").mkdir(exist_ok=True)
    return hardware.open_unit_sensors(cfg, pin_factory=pin_factory)


def test_a_bare_pi_reads_its_temperature_storage_and_link(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path / "sys-root")
    fs.temp_c(48.3)
    fs.default_route("wwan0")
    r = sensors_for(tmp_path, "pi-basic").read()
    assert r["temp_c"] == 48.3
    assert r["mains"] is None and r["amp_w"] is None
    assert isinstance(r["storage_used_bytes"], int) and isinstance(r["storage_total_bytes"], int)
    assert 0 < r["storage_used_bytes"] <= r["storage_total_bytes"]
    assert r["link_type"] == "cellular"


def test_mains_and_amplifier_power_where_the_monitor_describes_them(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path / "sys-root")
    fs.temp_c(51.0)
    fs.amp_w(41.63, name="ina219", index=3)
    factory = MockFactory()
    sensors = sensors_for(tmp_path, "pi-mains-ina219", pin_factory=factory)
    assert sensors.read()["mains"] is False
    factory.pin(26).drive_high()
    r = sensors.read()
    assert (r["mains"], r["amp_w"], r["temp_c"]) == (True, 41.6, 51.0)


def test_a_missing_or_garbled_sensor_reads_none_and_the_others_go_on(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path / "sys-root")
    fs.temp_c(40.0)
    fs.amp_w(10.0)
    sensors = sensors_for(tmp_path, "pi-mains-ina219", pin_factory=MockFactory())
    (fs.root / "sys/class/thermal/thermal_zone0/temp").write_text("not a number\n")  # a garbled file
    (fs.root / "sys/class/hwmon/hwmon0/power1_input").unlink()  # the driver unbound
    r = sensors.read()
    assert (r["temp_c"], r["amp_w"], r["link_type"]) == (None, None, None)
    assert r["storage_total_bytes"]


def test_link_type_follows_the_default_route(tmp_path: Path) -> None:
    fs = FakeSysfs(tmp_path)
    route, net = tmp_path / "proc/net/route", tmp_path / "sys/class/net"
    for iface, wireless, kind in (("eth0", False, "ethernet"), ("enp1s0", False, "ethernet"), ("wlan0", True, "wifi"),
                                  ("usb0", False, "cellular"), ("ppp0", False, "cellular"), ("tun0", False, None)):
        fs.default_route(iface, wireless=wireless)
        assert link_type(route, net) == kind, iface


def test_a_power_supply_flag_reads_mains(tmp_path: Path) -> None:
    online = tmp_path / "online"
    flag = file_flag(online)
    assert flag() is None
    online.write_text("1\n")
    assert flag() is True
    online.write_text("0\n")
    assert flag() is False


def test_readers_over_missing_files_say_none(tmp_path: Path) -> None:
    assert temp_c(tmp_path / "nope") is None
    assert hwmon_watts(tmp_path, "ina219")() is None
    assert link_type(tmp_path / "route", tmp_path) is None


def test_every_monitor_loads_and_cites_its_sources() -> None:
    for name in names("monitors"):
        m = load_monitor(name)
        assert m.sources and m.title and m.thermal_zone.startswith("/sys/class/thermal/"), name


def test_a_bad_monitor_is_refused_with_every_problem(tmp_path: Path) -> None:
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "bad.toml").write_text('name = "bad"\ntitle = "x"\n[mains]\nkind = "gpio"\n'
                                                   '[amp_power]\nhwmon = "ina219"\n')
    with pytest.raises(ConfigError) as err:
        load_monitor("bad", hw_dir=tmp_path)
    assert "mains: a gpio sensor needs bcm" in str(err.value) and "amp_power" in str(err.value)


def test_a_location_is_two_degrees_in_range() -> None:
    assert config.parse(BASE | {"device": {"id": "u1", "location": [13.98, 107.95]}}).device.location == (13.98, 107.95)
    with pytest.raises(ConfigError, match="device.location"):
        config.parse(BASE | {"device": {"id": "u1", "location": [113.98, 107.95]}})


def test_closing_releases_the_mains_input(tmp_path: Path) -> None:
    FakeSysfs(tmp_path / "sys-root").temp_c(40.0)
    factory = MockFactory()
    sensors = sensors_for(tmp_path, "pi-mains-ina219", pin_factory=factory)
    factory.pin(26).drive_high()
    assert sensors.read()["mains"] is True
    sensors.close()
    assert sensors.read()["mains"] is None and sensors.read()["temp_c"] == 40.0
