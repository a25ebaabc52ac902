"""What a simulation run is asked to do (from `loa sim` or a benchmark): frozen values, checked in one pass.

Must not import paho or the agent's runtime.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import ConfigError
from sim.models import Models

SCENARIOS = ("steady", "emergency", "storm", "flap", "morning", "clocks")
PROVINCE_CLUSTERS = 4911  # Gia Lai, 2025


@dataclass(frozen=True)
class SimOptions:
    report: Path
    clusters: int = PROVINCE_CLUSTERS
    scenario: str = "steady"
    broker: str = ""  # "" = start the embedded Mosquitto
    username: str = ""  # external broker: the identity every simulated unit uses
    password_file: str = ""
    console_username: str = ""  # external broker: the identity of the console and the observer
    console_password_file: str = ""
    ca: str = ""
    key: str = ""  # signing.jwk the console signs with (external broker; the embedded one gets a fresh key)
    trust: str = ""  # trust.jwks the units trust (external broker)
    no_console: bool = False  # the real server sends the commands; the simulator only runs units and observes
    shards: int = 0  # 0 = one per 15,000 units, and at least one per core for large fleets
    per_shard: int = 15_000
    addresses: int = 4  # 127.0.0.x source addresses per shard
    seed: int = 1
    duration_s: float = 0.0  # 0 = the scenario's default
    storm_down_s: float = 10.0
    id_prefix: str = "sim-"
    progress: bool = True
    models: Models = field(default_factory=Models)

    @property
    def embedded(self) -> bool:
        return not self.broker

    def shard_count(self) -> int:
        if self.shards:
            return self.shards
        by_size = -(-self.clusters // self.per_shard)
        by_cores = (os.cpu_count() or 1) if self.clusters >= 1000 else 1
        return max(by_size, by_cores)


def check(o: SimOptions) -> None:
    """Every problem at once, one line each."""
    problems: list[str] = []
    if o.scenario not in SCENARIOS:
        problems.append(f"--scenario: must be one of {', '.join(SCENARIOS)} (got {o.scenario!r})")
    if o.clusters < 1:
        problems.append("--clusters: must be at least 1")
    if o.shards and -(-o.clusters // o.shards) > 18_000:
        problems.append("--shards: a shard holds at most 18,000 units (open files per process)")
    if not o.embedded and not o.broker.startswith(("mqtt://", "mqtts://")):
        problems.append(f"--broker: must be mqtt://HOST:PORT or mqtts://HOST:PORT (got {o.broker!r})")
    if not o.embedded and not (o.username and o.password_file):
        problems.append("--broker: needs --username and --password-file for the simulated units")
    if not o.embedded and not o.trust:
        problems.append("--broker: needs --trust (the JWK Set of the server's signing keys)")
    if not o.embedded and not o.no_console and not (o.key and o.console_username):
        problems.append("--broker: the built-in console needs --key and --console-username/--console-password-file "
                        "(or use --no-console and send commands from the real server)")
    if problems:
        raise ConfigError("\n".join(problems))
