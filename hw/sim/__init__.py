"""Simulators of the hardware described in hw/, for tests, demos and the fleet simulator: an LCUS serial relay
module and a Modbus RTU relay board behind socket://, and a scripted 4G modem on a pty. Each records what it was
told and accepts faults (a stuck relay, a silent or failing modem). The agent must not import them.
"""
