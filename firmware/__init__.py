"""Loa relay co-processor firmware (MicroPython for an RP2040 board; the logic also runs on CPython).

Imports nothing from the rest of Loa. Only firmware/main.py imports `machine`; every other module takes its
pins, UART, ADCs, watchdog and clock as constructor arguments.
"""
