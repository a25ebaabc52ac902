"""The libraries of the `[sim]` extra (the simulator's histograms and the report's figures), which a unit's install
leaves out: which ones are missing, and the one clear error a simulator module raises without them.

Must not import paho or the agent.
"""

from __future__ import annotations

import importlib.util

LIBRARIES = {"hdrh": "hdrhistogram", "matplotlib": "matplotlib"}  # import name: distribution
HINT = "pip install 'loa[sim]' (or ./setup.sh --dev)"


class SimExtraMissing(ImportError):
    """The simulator was started in an install without its `[sim]` libraries."""


def missing() -> list[str]:
    return [dist for name, dist in LIBRARIES.items() if importlib.util.find_spec(name) is None]


def error(exc: ImportError) -> SimExtraMissing:
    return SimExtraMissing(f"the simulator needs the [sim] libraries ({', '.join(missing()) or exc.name}): {HINT}")
