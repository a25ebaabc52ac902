"""Where the HTTTN's areas and clusters are among Loa's groups and units. An area is a Loa group (gateway.toml
[areas], else the group of the same name), addressed with one group publish. A cluster the HTTTN assigned to an area
whose group it was not provisioned in is addressed by its device id as well (a gateway key cannot send `config`,
so it cannot change a unit's groups). Must not import the console or the server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agent.core.topics import Target
from tools.gateway.registry import Registry

StatusOf = Callable[[str], "dict[str, Any] | None"]  # a unit's last status as the gateway heard it, None: never heard


class Places:
    def __init__(self, areas: dict[str, str], registry: Registry, status_of: StatusOf,
                 wide_groups: tuple[str, ...]) -> None:
        self.areas, self.registry, self.status_of, self.wide_groups = areas, registry, status_of, wide_groups

    def group(self, area: str) -> str:
        return self.areas.get(area, area)

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
        by_group = {g: a for a, g in self.areas.items()}
        return by_group.get(commune, commune)

    def areas_of(self, dev: str) -> set[str]:
        """Every area a unit answers to: its assigned area and the areas of its groups."""
        by_group = {g: a for a, g in self.areas.items()}
        return {self.area_of(dev), *(by_group.get(g, g) for g in self.groups_of(dev))} - {""}

    def targets(self, areas: Iterable[str], units: Iterable[str]) -> list[Target]:
        """One group target per area, then each unit not already reached through one of those groups."""
        groups = list(dict.fromkeys(self.group(a) for a in areas))
        extra = [dev for a in areas for dev in self.registry.in_area(a)]
        out = [Target("grp", g) for g in groups]
        for dev in dict.fromkeys([*extra, *units]):
            if not self.groups_of(dev) & set(groups):
                out.append(Target("dev", dev))
        return out
