"""CRC-16/CCITT-FALSE of the firmware codec. Runs on CPython and MicroPython."""

from firmware.crc16 import crc16
from tests.firmware.support import golden, unhex


def test_check_value_of_the_catalogue() -> None:
    assert crc16(b"123456789") == 0x29B1


def test_golden_check_value() -> None:
    crc = golden()["crc"]
    assert crc16(unhex(crc["check_input_hex"])) == int(crc["check"], 16)


def test_empty_input_is_the_init_value() -> None:
    assert crc16(b"") == 0xFFFF


def test_range_arguments_match_a_slice() -> None:
    data = b"xx123456789yy"
    assert crc16(data, 2, 11) == crc16(data[2:11]) == 0x29B1
