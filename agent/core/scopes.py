"""Key scopes: which commands each key of a unit's trust set may sign, read from JWK members of the trust set.

`loa_scope` names a role (root, console, gateway); `loa_cmds`, `loa_groups` and `loa_levels` narrow a key further.
A key without `loa_scope` is a console key (trust sets made before scopes existed). See docs/protocol.md §7.5.
Pure: must not import adapters, runtime or any I/O module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agent.core.ed25519_jws import TrustSet
from agent.core.topics import Target

SCOPE, CMDS, GROUPS, LEVELS = "loa_scope", "loa_cmds", "loa_groups", "loa_levels"
ROOT, CONSOLE, GATEWAY = "root", "console", "gateway"
UNSCOPED = CONSOLE  # a key with no loa_scope member: what today's command keys already do, never a trust change
TRUST_ARGS = frozenset({"trust", "issuers"})  # config arguments that decide who is trusted: the root key's alone
GATEWAY_CMDS = frozenset({"play", "stop", "store", "schedule", "volume", "display", "snapshot", "ping", "logs", "time",
                          "reboot"})
ROLES: dict[str, frozenset[str] | None] = {ROOT: frozenset({"config"}), CONSOLE: None, GATEWAY: GATEWAY_CMDS}
BULLETIN_LEVELS = ("normal", "priority", "emergency")
LEVELLED = frozenset({"play", "display"})  # commands whose `priority` argument is a bulletin level

Problem = tuple[str, str]


def member_problem(key: Mapping[str, Any]) -> str | None:
    """Why a trusted key's scope members cannot be used (an unknown role, a malformed list); None when usable.
    A trust set with a scope the unit does not understand is refused whole rather than guessed at."""
    role = key.get(SCOPE, UNSCOPED)
    if role not in ROLES:
        return f"{SCOPE} {role!r} is not one of {', '.join(ROLES)}"
    for name, allowed in ((CMDS, None), (GROUPS, None), (LEVELS, BULLETIN_LEVELS)):
        value = key.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            return f"{name} must be a list of names"
        if allowed is not None and not set(value) <= set(allowed):
            return f"{name} may only name {', '.join(allowed)}"
    return None


def check(keys: TrustSet, kid: Any, claims: Mapping[str, Any], target: Target, my_groups: frozenset[str]) -> Problem | None:
    """`not_allowed` when the signing key's scope does not cover this command, its arguments or its audience."""
    key = _member_view(keys, kid)
    role = key.get(SCOPE, UNSCOPED)
    cmd, args = claims["cmd"], claims["args"]
    return (
        _check_trust_change(keys, key, role, cmd, args)
        or _check_command(key, role, cmd)
        or _check_groups(key, target, my_groups)
        or _check_level(key, cmd, args)
    )


def _member_view(keys: TrustSet, kid: Any) -> Mapping[str, Any]:
    key = keys.get(kid)
    # The signature check found this kid already; kept total for direct callers.
    return {SCOPE: "none"} if key is None else key.member


def _check_trust_change(keys: TrustSet, key: Mapping[str, Any], role: str, cmd: str, args: Any) -> Problem | None:
    if cmd != "config" or not TRUST_ARGS & set(args):
        return None
    if role != ROOT and not _adopts_root(keys, key, args):
        changed = " or ".join(sorted(TRUST_ARGS & set(args)))
        return ("not_allowed", f"only a root key may change {changed}; key {key.get('kid')!r} is a {role} key")
    if "trust" in args and not _has_root(_listed(args["trust"])):
        return ("bad_args", "trust: a trust set sent by config must keep a root key (loa_scope root)")
    return None


def _adopts_root(keys: TrustSet, key: Mapping[str, Any], args: Mapping[str, Any]) -> bool:
    """A unit provisioned before scopes trusts no root key. Its unscoped key may then sign a trust change, which
    must bring a root key (checked next): the only way such a unit can gain a root without a visit. From then on
    the unscoped key is a console key. Issuers alone it may not change (that could shut the province out too)."""
    return SCOPE not in key and "trust" in args and not _has_root(keys.members())


def _listed(trust: Any) -> list[Any]:
    keys = trust.get("keys") if isinstance(trust, Mapping) else None
    return keys if isinstance(keys, list) else []


def _has_root(keys: Iterable[Any]) -> bool:
    return any(isinstance(k, Mapping) and k.get(SCOPE) == ROOT for k in keys)


def _check_command(key: Mapping[str, Any], role: str, cmd: str) -> Problem | None:
    allowed, narrowed = ROLES.get(role), key.get(CMDS)
    if role not in ROLES or (allowed is not None and cmd not in allowed) or (narrowed is not None and cmd not in narrowed):
        return ("not_allowed", f"key {key.get('kid')!r} ({role}) may not sign {cmd!r}")
    return None


def _check_groups(key: Mapping[str, Any], target: Target, my_groups: frozenset[str]) -> Problem | None:
    granted = key.get(GROUPS)
    if granted is None:
        return None
    reach = {target.name} if target.kind == "grp" else set(my_groups)
    if reach & set(granted):
        return None
    return ("not_allowed", f"key {key.get('kid')!r} may only address groups {', '.join(granted)}")


def _check_level(key: Mapping[str, Any], cmd: str, args: Mapping[str, Any]) -> Problem | None:
    granted, level = key.get(LEVELS), args.get("priority", "normal")
    if granted is None or cmd not in LEVELLED or level in granted:
        return None
    return ("not_allowed", f"key {key.get('kid')!r} may not sign {level} bulletins")
