"""Proof-of-play levels: RMS of the amplifier output in centi-dBFS. Runs on CPython and MicroPython."""

from firmware import wire
from firmware.fakes import FakeADC, FakePin, ToneADC
from firmware.sensors import FLOOR_CDBFS, LevelMeter, to_cdbfs
from tests.firmware.support import Bench


def test_full_scale_square_wave_is_0_dbfs() -> None:
    assert to_cdbfs(32768.0 * 32768.0) == 0


def test_quarter_scale_is_minus_12_04_dbfs() -> None:
    assert to_cdbfs(8192.0 * 8192.0) == -1204


def test_silence_is_the_floor() -> None:
    assert to_cdbfs(0.0) == FLOOR_CDBFS
    assert to_cdbfs(1e-12) == FLOOR_CDBFS


def test_meter_publishes_each_completed_window() -> None:
    meter = LevelMeter([FakeADC((32768 + 8192, 32768 - 8192)), FakeADC()], window=4)
    for _ in range(3):
        meter.sample()
    assert meter.levels() == [FLOOR_CDBFS, FLOOR_CDBFS]  # no full window yet
    meter.sample()
    assert meter.levels() == [-1204, FLOOR_CDBFS]


def test_tone_adc_hears_its_relay() -> None:
    pin = FakePin()
    meter = LevelMeter([ToneADC(pin, amplitude=16384)], window=8)
    pin.value(1)
    for _ in range(8):
        meter.sample()
    assert meter.levels() == [-602]


def test_read_sensors_reports_the_levels() -> None:
    bench = Bench(sensor_window=2)
    bench.adcs[0].samples = (32768 + 8192, 32768 - 8192)
    bench.node.step()
    bench.node.step()
    _, cmd, payload = bench.send(wire.READ_SENSORS)[0]
    assert (cmd, payload.hex()) == (wire.READ_SENSORS | 0x80, "02" + "fb4c" + "d8f0")
