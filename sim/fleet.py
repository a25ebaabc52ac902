"""The simulated province: clusters spread over communes (12-50 each), their ids, groups and shard ranges.

Pure and seeded: the same seed gives the same fleet in every process. Must not import paho or any I/O module.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

PROVINCE = "province"
COMMUNE_MIN, COMMUNE_MAX = 12, 50


@dataclass(frozen=True, slots=True)
class Cluster:
    index: int  # 0-based position in the whole fleet; client-id ranges of shards are disjoint ranges of it
    device_id: str
    commune: str

    @property
    def groups(self) -> tuple[str, str]:
        return (self.commune, PROVINCE)


@dataclass(frozen=True)
class Fleet:
    clusters: tuple[Cluster, ...]
    communes: tuple[str, ...]

    def shard_ranges(self, shards: int) -> list[range]:
        """Contiguous, disjoint index ranges of nearly equal size, one per shard."""
        n = len(self.clusters)
        edges = [round(k * n / shards) for k in range(shards + 1)]
        return [range(edges[k], edges[k + 1]) for k in range(shards)]


def commune_sizes(total: int, rng: random.Random) -> list[int]:
    """Sizes drawn uniformly in 12..50 until they cover `total`; a short remainder joins the previous commune."""
    sizes: list[int] = []
    left = total
    while left > 0:
        size = min(left, rng.randint(COMMUNE_MIN, COMMUNE_MAX))
        if size < COMMUNE_MIN and sizes and sizes[-1] + size <= COMMUNE_MAX:
            sizes[-1] += size
        else:
            sizes.append(size)
        left -= size
    return sizes


def build(total: int, seed: int, prefix: str = "sim-") -> Fleet:
    rng = random.Random(f"fleet:{seed}")
    width = max(5, len(str(total)))
    clusters: list[Cluster] = []
    communes: list[str] = []
    for c, size in enumerate(commune_sizes(total, rng)):
        commune = f"xa-{c + 1:04d}"
        communes.append(commune)
        for _ in range(size):
            i = len(clusters)
            clusters.append(Cluster(i, f"{prefix}{i + 1:0{width}d}", commune))
    return Fleet(tuple(clusters), tuple(communes))


def source_addresses(shard: int, count: int) -> tuple[str, ...]:
    """Loopback source addresses of one shard (127.0.0.2 upwards): about 28,000 source ports each."""
    first = 2 + shard * count
    if first + count > 255:
        raise ValueError("too many shards x addresses for 127.0.0.0/24")
    return tuple(f"127.0.0.{first + j}" for j in range(count))
