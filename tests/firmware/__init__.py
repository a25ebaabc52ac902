"""Tests of the relay co-processor firmware. Modules listed in mpy_runner.MODULES also run on MicroPython."""
