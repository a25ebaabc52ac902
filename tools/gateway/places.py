"""Where the HTTTN's areas and clusters are among Loa's groups and units. An area is a Loa group (gateway.toml
[areas], else a group of the same name that units report: what the pings give the HTTTN as their area), addressed
with one group publish; any other area is unknown. A cluster the HTTTN assigned to an area
whose group it was not provisioned in is addressed by its device id as well (a gateway key cannot send `config`,
so it cannot change a unit's groups). Must not import the console or the server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from agent.core.topics import Target
from tools.gateway.registry import Registry

StatusOf = Callable[[str], "dict[str, Any] | None"]  # a unit's last status as the gateway heard it, None: never heard


class AreaGroups(Mapping[str, str]):
    """HTTTN area id -> Loa group, live: the configured map, then every group some unit reports."""

    def __init__(self, configured: dict[str, str], groups_heard: Callable[[], set[str]]) -> None:
        self.configured, self.groups_heard = configured, groups_heard

    def __getitem__(self, area: str) -> str:
        if area in self.configured:
            return self.configured[area]
        if area in self.groups_heard():
            return area
        raise KeyError(area)

    def __iter__(self) -> Iterator[str]:
        return iter({**{g: g for g in self.groups_heard()}, **self.configured})

    def __len__(self) -> int:
        return len(list(iter(self)))


class Places:
    def __init__(self, areas: AreaGroups, registry: Registry, status_of: StatusOf,
                 wide_groups: tuple[str, ...]) -> None:
        self.areas, self.registry, self.status_of, self.wide_groups = areas, registry, status_of, wide_groups

    def known(self, area: str) -> bool:
        """An area is a group, or has clusters the HTTTN assigned to it."""
        return area in self.areas or bool(self.registry.in_area(area))

    def groups_of(self, dev: str) -> set[str]:
        status = self.status_of(dev) or {}
        return {g for g in status.get("groups") or [] if isinstance(g, str)}

    def area_of(self, dev: str) -> str:
        """The area the HTTTN assigned, else the unit's commune (its first group that is not province-wide)."""
        entry = self.registry.get(dev)
        if entry and entry.area:
            return entry.area
        groups = (self.status_of(dev) or {}).get("groups") or []
        commune = next((g for g in groups if isinstance(g, str) and g not in self.wide_groups), "")
        return self._by_group().get(commune, commune)

    def areas_of(self, dev: str) -> set[str]:
        """Every area a unit answers to: its assigned area and the areas of its groups."""
        by_group = self._by_group()
        return {self.area_of(dev), *(by_group.get(g, g) for g in self.groups_of(dev))} - {""}

    def _by_group(self) -> dict[str, str]:
        return {g: a for a, g in self.areas.configured.items()}

    def targets(self, areas: Iterable[str], units: Iterable[str]) -> list[Target]:
        """One group target per area that is a group, then each unit not already reached through one of them."""
        areas = list(areas)
        groups = list(dict.fromkeys(self.areas[a] for a in areas if a in self.areas))
        assigned = [dev for a in areas for dev in self.registry.in_area(a)]
        out = [Target("grp", g) for g in groups]
        for dev in dict.fromkeys([*assigned, *units]):
            if not self.groups_of(dev) & set(groups):
                out.append(Target("dev", dev))
        return out
