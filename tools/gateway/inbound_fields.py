"""Reading an inbound body through the profile: a field by Loa's name (the HTTTN's names tried in order), the bulletin
level it asks for, its target areas and units. Pure: must not import I/O modules.
"""

from __future__ import annotations

from typing import Any

from tools.gateway.mapping import lookup
from tools.gateway.profile import Profile


class Malformed(ValueError):
    """A body the operation cannot read: a missing or mistyped field (the caller's fault, a 400)."""


def get(profile: Profile, body: dict[str, Any], name: str) -> Any:
    """The value of the field Loa calls `name`, or None when the body has none of its names."""
    for field in profile.api.fields.get(name, ()):
        value = lookup(body, field)
        if value is not None:
            return value
    return None


def text(profile: Profile, body: dict[str, Any], name: str) -> str:
    """A required identifier (a number is taken as its text, as HTTTNs send ids either way)."""
    value = get(profile, body, name)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        raise Malformed(f"thiếu hoặc sai trường {shown(profile, name)} / missing or invalid {shown(profile, name)}")
    return str(value).strip()


def shown(profile: Profile, name: str) -> str:
    """The HTTTN's name for a field, for a refusal the HTTTN's operator reads."""
    return " | ".join(profile.api.fields.get(name, (name,)))


def level(profile: Profile, body: dict[str, Any]) -> str | None:
    """The bulletin level a body asks for (emergency, priority, normal) through [maps.priority], or None."""
    value = get(profile, body, "priority")
    if value is None:
        return None
    for loa, code in profile.maps.get("priority", {}).items():
        if loa != "scheduled" and str(code) == str(value):
            return str(loa)
    return None


def areas(profile: Profile, body: dict[str, Any]) -> list[str]:
    """The target areas: a list of ids, or of objects holding the id (DanhSachDiaBanNhan [{DichID, TenDich}])."""
    value = get(profile, body, "target_areas")
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        ident = _area_id(profile, item)
        if ident is None:
            raise Malformed(f"sai danh sách địa bàn {shown(profile, 'target_areas')} / invalid area list")
        out.append(ident)
    return out


def _area_id(profile: Profile, item: Any) -> str | None:
    if isinstance(item, dict):
        item = next((lookup(item, f) for f in profile.api.fields.get("target_area_id", ())
                     if lookup(item, f) is not None), None)
    if isinstance(item, bool) or not isinstance(item, (str, int)) or str(item) == "":
        return None
    return str(item)


def units(profile: Profile, body: dict[str, Any]) -> list[str]:
    """The target clusters (DanhSachThietBi.CumLoaID []), or a single cluster id given in its place."""
    value = get(profile, body, "target_units")
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(i, (str, int)) and not isinstance(i, bool) and str(i) for i in items):
        raise Malformed(f"sai danh sách cụm loa {shown(profile, 'target_units')} / invalid cluster list")
    return [str(i) for i in items]
