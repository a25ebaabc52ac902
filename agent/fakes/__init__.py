"""The fakes that ship with the agent, used by the tests, the demo and the fleet simulator alike: relays that record
every switch, a player that makes no sound, a timed player and clock for simulated units, an in-memory store, and
simulators of the hardware described in hw/ (an LCUS serial relay module and a Modbus RTU relay board behind
socket://, a scripted 4G modem on a pty). Each records what it was told and accepts faults.

Only physical hardware is faked here; nothing on a unit's real path imports this package.
"""
