"""The HTTTN's calls about clusters: register (API1), assign an area (API2), query (API3), volume (API4), status
(API8) and device control (MaLenh/ThamSo through [maps.control]). Each reads its body through the profile, refuses
what it cannot do before anything is sent, and sends signed commands only through the Sender. Must not import the
HTTP server or the console.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.core.topics import Target
from tools.gateway import inbound_fields as fields
from tools.gateway import mapping
from tools.gateway.inbound_api import Caller, InboundCall, Operation, Reply, Sender
from tools.gateway.inbound_fields import Malformed
from tools.gateway.places import Places
from tools.gateway.profile import STATUS_REPLY, Profile

HbOf = Callable[[str], "dict[str, Any]"]


def refused(http_status: int, reason: str, **audit: Any) -> Reply:
    return Reply(False, reason, http_status, **audit)


class UnitOps:
    def __init__(self, profile: Profile, sender: Sender, places: Places, hb_of: HbOf) -> None:
        self.profile, self.sender, self.places, self.hb_of = profile, sender, places, hb_of

    def operations(self) -> dict[str, Operation]:
        return {"register": self.register, "assign_area": self.assign_area, "query": self.query,
                "volume": self.volume, "status": self.status, "control": self.control}

    # ---- the registry -------------------------------------------------------------------------------------------

    def register(self, call: InboundCall) -> Reply:
        dev = fields.text(self.profile, call.body, "cluster_id")
        code = fields.text(self.profile, call.body, "auth_code")
        if (unknown := self._unknown(dev)) is not None:
            return unknown
        if not self.places.registry.register(dev, code, call.caller.client, call.received_ms):
            return refused(409, f"Cụm loa {dev} đã đăng ký với mã xác thực khác / registered already with another "
                                "auth code", units=(dev,))
        return Reply(True, units=(dev,))

    def assign_area(self, call: InboundCall) -> Reply:
        dev = fields.text(self.profile, call.body, "cluster_id")
        area = fields.text(self.profile, call.body, "area")
        if (denied := self._area_denied(call.caller, [area])) is not None:
            return denied
        if not self.places.registry.assign(dev, area, call.received_ms):
            return refused(404, f"Cụm loa {dev} chưa đăng ký / not registered", units=(dev,), areas=(area,))
        return Reply(True, units=(dev,), areas=(area,))

    def query(self, call: InboundCall) -> Reply:
        dev = fields.text(self.profile, call.body, "cluster_id")
        entry = self.places.registry.get(dev)
        if entry is None and self.places.status_of(dev) is None:
            return refused(404, f"Không có cụm loa {dev} / unknown cluster", units=(dev,))
        content = self._status_body(dev) if self.places.status_of(dev) is not None else {}
        area_names = self.profile.api.fields.get("area", ())
        if area_names:
            _put(content, area_names[0], entry.area if entry else self.places.area_of(dev))
        return Reply(True, content=content, units=(dev,))

    def status(self, call: InboundCall) -> Reply:
        dev = fields.text(self.profile, call.body, "cluster_id")
        if (unknown := self._unknown(dev)) is not None:
            return unknown
        return Reply(True, content=self._status_body(dev), units=(dev,))

    # ---- commands -----------------------------------------------------------------------------------------------

    def volume(self, call: InboundCall) -> Reply:
        dev = fields.text(self.profile, call.body, "cluster_id")
        pct = _percent(fields.get(self.profile, call.body, "volume"), fields.shown(self.profile, "volume"))
        if (unknown := self._unknown(dev)) is not None:
            return unknown
        if (denied := self._units_denied(call.caller, [dev])) is not None:
            return denied
        return self._send([Target("dev", dev)], "volume", {"volume_pct": pct}, units=(dev,))

    def control(self, call: InboundCall) -> Reply:
        code = fields.text(self.profile, call.body, "control_code")
        control = self.profile.api.control.get(code)
        if control is None:
            return refused(400, f"Mã lệnh {code} không được hỗ trợ / unknown command code {code}")
        args = dict(control.args)
        if control.param:
            param = fields.get(self.profile, call.body, "control_param")
            args[control.param] = _percent(param, fields.shown(self.profile, "control_param"))
        areas, units = fields.areas(self.profile, call.body), fields.units(self.profile, call.body)
        if not areas and not units:
            raise Malformed(f"thiếu đích: {fields.shown(self.profile, 'target_areas')} hoặc "
                            f"{fields.shown(self.profile, 'target_units')} / no target")
        unknown = [u for u in units if self.places.status_of(u) is None]
        if unknown:
            return refused(404, f"Không có cụm loa {', '.join(unknown)} / unknown cluster(s)", units=tuple(units))
        nowhere = [a for a in areas if not self.places.known(a)]
        if nowhere:
            return refused(404, f"Không có địa bàn {', '.join(nowhere)} / unknown area(s)", areas=tuple(areas))
        denied = self._area_denied(call.caller, areas) or self._units_denied(call.caller, units)
        if denied is not None:
            return denied
        return self._send(self.places.targets(areas, units), control.cmd, args, units=tuple(units), areas=tuple(areas))

    def _send(self, targets: list[Target], cmd: str, args: dict[str, Any], **audit: Any) -> Reply:
        jtis = []
        try:
            for target in targets:
                jtis.append(self.sender.send(target, cmd, args))
        except (OSError, RuntimeError, ValueError) as exc:  # the broker link: a LinkError is a ConnectionError
            return Reply(False, f"Không gửi được lệnh / could not send: {exc}", 503, jtis=tuple(jtis), **audit)
        return Reply(True, jtis=tuple(jtis), **audit)

    # ---- checks -------------------------------------------------------------------------------------------------

    def _unknown(self, dev: str) -> Reply | None:
        if self.places.status_of(dev) is None:
            return refused(404, f"Cụm loa {dev} không có trong hệ thống Loa / unknown to Loa", units=(dev,))
        return None

    def _area_denied(self, caller: Caller, areas: list[str]) -> Reply | None:
        outside = [a for a in areas if caller.areas and a not in caller.areas]
        if outside:
            return refused(403, f"Không được cấp quyền địa bàn {', '.join(outside)} / area not granted",
                           areas=tuple(areas))
        return None

    def _units_denied(self, caller: Caller, units: list[str]) -> Reply | None:
        outside = [u for u in units if caller.areas and not self.places.areas_of(u) & caller.areas]
        if outside:
            return refused(403, f"Không được cấp quyền với cụm loa {', '.join(outside)} / cluster outside the "
                                "granted areas", units=tuple(units))
        return None

    def _status_body(self, dev: str) -> dict[str, Any]:
        ctx = mapping.context(self.profile, dev, self.places.area_of(dev), self.places.status_of(dev) or {},
                              self.hb_of(dev))
        return mapping.body(self.profile, STATUS_REPLY, ctx)


def _put(out: dict[str, Any], field: str, value: Any) -> None:
    for step in field.split(".")[:-1]:
        out = out.setdefault(step, {})
    out[field.split(".")[-1]] = value


def _percent(value: Any, name: str) -> int:
    """A volume as the HTTTN sends it (80 or "80") -> 0..100."""
    try:
        pct = int(str(value).strip())
    except ValueError:
        raise Malformed(f"sai giá trị {name} (0-100) / invalid {name}") from None
    if not 0 <= pct <= 100:
        raise Malformed(f"sai giá trị {name} (0-100) / {name} out of 0-100")
    return pct
