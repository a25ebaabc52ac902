"""Hardware descriptions as data (boards/, modems/, audio/, WIRING.md); hw.sim holds simulators of that hardware.

The agent reads the TOML files through agent.catalog.boards and never imports this package.
"""
