"""One shard process holds its units on one thread, each unit with its own connection and client id."""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from province import keys
from province.localnet import free_port
from sim import fleet
from sim.fleet_broker import Mosquitto, prepare
from sim.shardproc import ShardProc
from sim.spec import ShardSpec


def test_a_shard_runs_its_units_on_exactly_one_thread(tmp_path: Path) -> None:
    n, port, secret = 120, free_port(), secrets.token_hex(32)
    keys.init(tmp_path / "keys")
    trust = json.loads((tmp_path / "keys" / keys.TRUST).read_text())
    broker = Mosquitto(prepare(tmp_path / "broker", port, fleet.build(n, 1), secret).root)
    broker.start()
    shard = ShardProc(ShardSpec(shard=0, first=0, count=n, fleet_total=n, seed=1, url=f"mqtt://127.0.0.1:{port}",
                                trust=trust, addresses=fleet.source_addresses(0, 3), secret=secret),
                      str(tmp_path / "shard.log"))
    try:
        assert shard.reply("ready", 30)["threads"] == 1
        shard.send({"op": "start", "t0": time.time()})
        deadline = time.time() + 20
        while shard.last_tick().get("online", 0) < n and time.time() < deadline:
            time.sleep(0.1)
        assert shard.last_tick()["online"] == n
        assert len(os.listdir(f"/proc/{shard.pid}/task")) == 1  # OS threads, not only Python's
        assert shard.last_tick()["threads"] == 1
        log = (tmp_path / "broker" / "mosquitto.log").read_text()
        # one session per unit: the broker makes each unit's name its client id (whatever id the unit sends)
        assert sum(f" as sim-{i:05d} " in log for i in range(1, n + 1)) == n
    finally:
        shard.stop()
        broker.stop()
