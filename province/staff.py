"""Commune staff on the broker: read-only identities (`loa staff add|revoke|list`). A staff identity reads the reports
of its commune's units (the units whose groups include the commune) and may ask them for their logs on the log
request topics; it can publish no command and read no other commune (the ACL, province.broker_conf.staff_topics).

Staff log in on the units' password listener, where the broker makes the user name the client id: a staff member
can never take over a unit's or a console's session. Revoking takes effect at once: the broker reloads and cuts the
running session. Must not import the agent's adapters or runtime.
"""

from __future__ import annotations

from pathlib import Path

from agent.core.topics import valid_name
from agent.errors import ConfigError
from province import broker
from province.files import write_public


def add(root: Path, name: str, commune: str) -> Path:
    """A new staff identity of `commune` with its own generated password; returns the password file (0600)."""
    b = broker.require(root)
    if not valid_name(name) or not valid_name(commune):
        raise ConfigError(f"staff {name!r} of {commune!r}: names are 1-64 characters of A-Z a-z 0-9 . _ -")
    if name in broker.taken(root):
        raise ConfigError(f"{name!r} is already an identity on this broker (a unit, a console or staff)")
    if not (root / "port").exists():
        raise ConfigError(f"{root} has no password listener for staff (run `loa broker {root} --port PORT`)")
    path = broker.add_password(root, name)
    write_public(b.staff, "".join(f"{n} {c}\n" for n, c in sorted([*listing(root), (name, commune)])))
    broker.write_acl(root)
    broker.reload(root)
    return path


def revoke(root: Path, name: str) -> bool:
    """Take a staff identity out at once: its password and ACL go, and the reloaded broker cuts its session.
    True if it was staff here."""
    b = broker.require(root)
    kept = [(n, c) for n, c in listing(root) if n != name]
    known = len(kept) < len(listing(root))
    if known:
        write_public(b.staff, "".join(f"{n} {c}\n" for n, c in kept))
        broker.forget_password(root, name)
        broker.write_acl(root)
        broker.reload(root)
    return known


def listing(root: Path) -> list[tuple[str, str]]:
    """(name, commune) of every staff identity, by name."""
    path = broker.require(root).staff
    lines = path.read_text(encoding="utf-8").split("\n") if path.exists() else []
    return sorted((ln.split(" ")[0], ln.split(" ")[1]) for ln in lines if ln.count(" ") == 1)
