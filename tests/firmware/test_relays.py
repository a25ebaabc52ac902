"""Relay outputs and the replay guard, on fake pins. Runs on CPython and MicroPython."""

from firmware.fakes import FakePin
from firmware.relays import RelayBank
from firmware.sequence import SeqGuard
from tests.firmware.support import raises


def test_bank_switches_by_bitmask() -> None:
    pins = [FakePin() for _ in range(3)]
    bank = RelayBank(pins)
    bank.set_mask(0b101)
    assert [pin.value() for pin in pins] == [1, 0, 1]
    assert (bank.commanded(), bank.readback(), bank.all_bits) == (0b101, 0b101, 0b111)


def test_active_low_bank_inverts_levels_but_not_masks() -> None:
    pins = [FakePin() for _ in range(2)]
    bank = RelayBank(pins, active_low=True)
    bank.set_mask(0b01)
    assert [pin.value() for pin in pins] == [0, 1]
    assert bank.readback() == 0b01


def test_bank_refuses_no_pins_or_more_than_eight() -> None:
    raises(ValueError, RelayBank, [])
    raises(ValueError, RelayBank, [FakePin() for _ in range(9)])


def test_guard_accepts_anything_first_then_only_newer() -> None:
    guard = SeqGuard()
    assert guard.is_fresh(200)
    guard.accept(200)
    assert [guard.is_fresh(s) for s in (200, 199, 201, (200 + 127) & 0xFF, (200 + 128) & 0xFF)] == [
        False, False, True, True, False]
    assert guard.last() == 200


def test_guard_forgets() -> None:
    guard = SeqGuard()
    guard.accept(5)
    guard.forget()
    assert guard.is_fresh(5) and guard.last() == 0
