"""The simulated province and its behaviour models: pure, seeded, reproducible."""

from __future__ import annotations

import random

from agent.core.backoff import Backoff
from agent.fakes.memstore import Backlog, MemStore
from sim import fleet, models
from sim.analysis import peak_rate


def test_communes_hold_12_to_50_clusters_and_every_cluster_is_in_the_province() -> None:
    f = fleet.build(4911, seed=3)
    sizes: dict[str, int] = {}
    for c in f.clusters:
        sizes[c.commune] = sizes.get(c.commune, 0) + 1
    assert len(f.clusters) == 4911 and len({c.device_id for c in f.clusters}) == 4911
    assert all(12 <= n <= 50 for n in sizes.values()), sorted(sizes.values())[:3]
    assert all(c.groups == (c.commune, fleet.PROVINCE) for c in f.clusters)


def test_shard_ranges_are_disjoint_and_cover_the_fleet() -> None:
    ranges = fleet.build(15_001, seed=1).shard_ranges(3)
    indices = [i for r in ranges for i in r]
    assert indices == list(range(15_001))
    assert max(len(r) for r in ranges) - min(len(r) for r in ranges) <= 1


def test_source_addresses_of_shards_do_not_overlap() -> None:
    a, b = fleet.source_addresses(0, 4), fleet.source_addresses(1, 4)
    assert a == ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5") and not set(a) & set(b)


def test_same_seed_same_fleet_and_profiles_other_seed_differs() -> None:
    m = models.Models(old_version_fraction=0.3, unsynced_fraction=0.3)
    assert [models.profile(m, 7, i) for i in range(200)] == [models.profile(m, 7, i) for i in range(200)]
    assert [models.profile(m, 7, i) for i in range(200)] != [models.profile(m, 8, i) for i in range(200)]
    assert fleet.build(500, 7) == fleet.build(500, 7)


def test_fractions_of_the_models_are_respected() -> None:
    m = models.Models(old_version_fraction=0.1, stuck_relay_fraction=0.05, unsynced_fraction=0.02)
    profiles = [models.profile(m, 1, i) for i in range(10_000)]
    assert 800 < sum(p.old_version for p in profiles) < 1200
    assert 350 < sum(p.stuck_zone is not None for p in profiles) < 650
    assert all(abs(p.skew_ms) <= 30_000 for p in profiles if not p.synced)
    assert 0 <= min(p.hb_phase_s for p in profiles) and max(p.hb_phase_s for p in profiles) < m.heartbeat_s


def test_full_jitter_spreads_the_reconnects_of_a_fleet_that_dropped_at_once() -> None:
    """Every unit's third retry after a common drop: naive backoff stacks them on one instant, jitter spreads them."""
    def retry_times(jitter: bool) -> list[float]:
        times = []
        for unit in range(2000):
            b, t = Backoff(1.0, 30.0, random.Random(unit), jitter), 0.0
            for _ in range(3):
                t += b.next_delay_s()
            times.append(t)
        return times

    naive, jittered = retry_times(False), retry_times(True)
    assert len(set(naive)) == 1  # 1 + 2 + 4 s: all 2,000 at the same moment
    assert peak_rate(naive, 0, 60, 0.1) == 20_000.0
    assert peak_rate(jittered, 0, 60, 0.1) < 1_000.0
    assert max(jittered) - min(jittered) > 3.0


def test_flaps_are_reproducible_and_a_dark_commune_goes_dark_at_once() -> None:
    members = {"xa-1": [0, 1, 2], "xa-2": [3, 4]}
    cells = models.commune_flaps(5, members, 1.0, 20.0, (1.0, 9.0))
    assert cells == models.commune_flaps(5, members, 1.0, 20.0, (1.0, 9.0))
    starts = {i: s for i, s, _ in cells}
    assert starts[0] == starts[1] == starts[2] and starts[3] == starts[4]
    singles = models.unit_flaps(5, range(100), 60.0, (2.0, 5.0), 600.0)
    assert 800 < len(singles) < 1200 and all(2.0 <= d <= 5.0 for _, _, d in singles)


def test_memory_outbox_keeps_order_excludes_in_flight_and_counts_the_shard_backlog() -> None:
    backlog = Backlog()
    a, b = MemStore(backlog), MemStore(backlog, max_outbox_rows=2)
    first = a.outbox_add("t/ack", b"1", 1, "ack", 0)
    a.outbox_add("t/ack", b"2", 1, "ack", 0)
    assert [r.payload for r in a.outbox_pending(1, {first})] == [b"2"]
    b.outbox_add("t/ack", b"x", 1, "reject", 0)
    b.outbox_add("t/ack", b"y", 1, "ack", 0)
    b.outbox_add("t/ack", b"z", 1, "ack", 0)  # over the cap: the rejection goes first
    assert [r.payload for r in b.outbox_pending(5, set())] == [b"y", b"z"]
    assert backlog.rows == 4 and backlog.peak == 5
    a.outbox_delete(first)
    assert backlog.rows == 3 and a.outbox_count() == 1


def test_simulated_units_reconnect_with_the_units_own_defaults() -> None:
    """The simulator's backoff is the unit's: same base and cap as a unit with no [mqtt] reconnect settings."""
    from agent.config.unit import MqttSection
    from agent.core.device_state import DeviceSettings
    from sim.models import Models

    unit = MqttSection(url="mqtt://x:1")
    assert (Models().reconnect_min_s, Models().reconnect_max_s) == (unit.reconnect_min_s, unit.reconnect_max_s)
    fields = DeviceSettings.__dataclass_fields__
    assert (fields["reconnect_min_s"].default, fields["reconnect_max_s"].default) == (unit.reconnect_min_s,
                                                                                      unit.reconnect_max_s)
    assert unit.reconnect_max_s <= 30.0  # a province back within 30 s of its broker's return (full jitter)
