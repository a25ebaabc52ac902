"""The board's settings as data: pins, serial link, timings. main.py reads it; nothing else does.

Pin numbers follow Loa's co-processor wiring (see hw/ and firmware/README.md); change them here, not in code.
Imports nothing.
"""

RELAY_PINS = (2, 3, 4, 5)  # GP2..GP5 drive the relay board inputs
RELAY_ACTIVE_LOW = False
SENSOR_ADC_PINS = (26, 27)  # ADC0, ADC1: amplifier output level, divided and biased at mid-rail

UART_ID = 0
UART_TX_PIN = 0
UART_RX_PIN = 1
UART_BAUD = 115200

HEARTBEAT_TIMEOUT_MS = 2000  # relays off this long after the last host heartbeat (at most 2900)
MAX_ON_MS = 15 * 60 * 1000  # hard limit per relay unless the host renews an emergency
FRAME_TIMEOUT_MS = 100  # a partial frame silent this long is dropped as truncated
SENSOR_WINDOW = 64  # samples per published level
LOOP_MS = 5  # main loop period
WATCHDOG_MS = 2000  # a main loop stuck this long resets the board (RP2040 allows up to 8388)
