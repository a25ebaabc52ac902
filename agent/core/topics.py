"""Protocol v1 topic names: the only place topic strings are built or parsed.

Must not import anything outside the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass

REPORTS = ("ack", "status", "hb", "playlog", "event", "logs", "display", "displaylog")
LOG_REQUEST = "logreq"  # the unsigned, read-only request for staff log lines (agent.core.log_request)


@dataclass(frozen=True, slots=True)
class Target:
    """Who a command topic addresses: `dev:<id>` or `grp:<group>` (the JWT `aud` must equal it)."""

    kind: str
    name: str

    @property
    def audience(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str = "loa/v1"

    def command(self, target: Target) -> str:
        return f"{self.prefix}/{target.kind}/{target.name}/cmd"

    def device_command(self, device_id: str) -> str:
        return self.command(Target("dev", device_id))

    def group_command(self, group: str) -> str:
        return self.command(Target("grp", group))

    def log_request(self, target: Target) -> str:
        """Where staff and the console ask a unit (or every member of a group) for its staff log lines."""
        return f"{self.prefix}/{target.kind}/{target.name}/{LOG_REQUEST}"

    def unit_subscriptions(self, device_id: str, groups: tuple[str, ...]) -> tuple[str, ...]:
        """What a unit subscribes to: its own and its groups' command topics, then their log request topics."""
        targets = [Target("dev", device_id), *(Target("grp", g) for g in groups)]
        return tuple([self.command(t) for t in targets] + [self.log_request(t) for t in targets])

    def report(self, device_id: str, kind: str) -> str:
        if kind not in REPORTS:
            raise ValueError(f"unknown report kind {kind!r}")
        return f"{self.prefix}/dev/{device_id}/{kind}"

    def all_reports(self, kind: str) -> str:
        """A subscription filter for one report kind of every device (for consoles and the simulator)."""
        return f"{self.prefix}/dev/+/{kind}"

    def target_of(self, topic: str) -> Target | None:
        """The target of a command topic, or None when the topic is not a command topic under this prefix."""
        return self._addressed(topic, "cmd")

    def log_request_target(self, topic: str) -> Target | None:
        """The target of a log request topic, or None when the topic is not one."""
        return self._addressed(topic, LOG_REQUEST)

    def _addressed(self, topic: str, leaf: str) -> Target | None:
        head = f"{self.prefix}/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head):].split("/")
        if len(parts) != 3 or parts[2] != leaf or parts[0] not in ("dev", "grp") or not parts[1]:
            return None
        return Target(parts[0], parts[1])

    def device_of(self, topic: str) -> tuple[str, str] | None:
        """(device id, report kind) of a report topic, else None."""
        head = f"{self.prefix}/dev/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head):].split("/")
        return (parts[0], parts[1]) if len(parts) == 2 and parts[1] in REPORTS else None


def valid_name(name: str) -> bool:
    """Device ids and group names must be safe as one topic level and one ACL entry."""
    return 0 < len(name) <= 64 and all(c.isalnum() or c in "-_." for c in name) and name.isascii()
