"""Board entry point, copied to the Pico as /main.py: the only module that imports machine.

Drives every relay pin off first, arms the hardware watchdog, then runs the co-processor loop. The watchdog is
fed only inside CoProcessor.step(), so a hung loop resets the board, which boots with every relay off.
"""

import time

import machine

from firmware import config
from firmware.coproc import CoProcessor

_OFF = 1 if config.RELAY_ACTIVE_LOW else 0


def relay_pins() -> "list[machine.Pin]":
    # value= sets the level before the pin becomes an output, so a relay never clicks on during boot.
    return [machine.Pin(n, machine.Pin.OUT, value=_OFF) for n in config.RELAY_PINS]


def build(pins: "list[machine.Pin]") -> CoProcessor:
    uart = machine.UART(
        config.UART_ID, baudrate=config.UART_BAUD, tx=machine.Pin(config.UART_TX_PIN),
        rx=machine.Pin(config.UART_RX_PIN), timeout=0,
    )
    return CoProcessor(
        uart, pins, [machine.ADC(machine.Pin(n)) for n in config.SENSOR_ADC_PINS],
        machine.WDT(timeout=config.WATCHDOG_MS), time.ticks_ms,
        heartbeat_timeout_ms=config.HEARTBEAT_TIMEOUT_MS, max_on_ms=config.MAX_ON_MS,
        active_low=config.RELAY_ACTIVE_LOW, frame_timeout_ms=config.FRAME_TIMEOUT_MS,
        sensor_window=config.SENSOR_WINDOW, reset_by_watchdog=machine.reset_cause() == machine.WDT_RESET,
    )


def main() -> None:
    pins = relay_pins()
    try:
        node = build(pins)
        while True:
            node.step()
            time.sleep_ms(config.LOOP_MS)
    finally:
        # Any exception (even Ctrl-C over mpremote) leaves relays off; the unfed watchdog then resets the board.
        for pin in pins:
            pin.value(_OFF)


main()
