"""The inbound half of the profile (`[inbound]`, `[maps.control]`): the path of each operation, the HTTTN's names for
the fields the operations read, the reply's extra parts and the control codes. Parsed by profile.load; the gateway's
code names only Loa's side of each entry. Pure data: must not import the gateway's I/O modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.config.engine import Problem, Problems, unknown_keys
from tools.gateway.inbound_api import OPERATIONS

# The fields the server and the unit operations read (the bulletin operations keep their own table, `bulletin`).
FIELDS = ("source_id", "cluster_id", "auth_code", "area", "volume", "target_areas", "target_area_id", "target_units",
          "control_code", "control_param", "operator", "priority")
# What a control code may become: commands of the gateway's key that act on a unit, never a bulletin (levels).
CONTROL_CMDS = ("volume", "stop", "reboot", "ping")
# `bulletin` and `bulletin_format` belong to the bulletin operations (bulletin_profile), which read them themselves
KNOWN = ("paths", "fields", "failed_value", "content_field", "operator_header", "status_reply", "bulletin",
         "bulletin_format")


@dataclass(frozen=True)
class Control:
    """One control code: the Loa command, fixed arguments, and which argument (if any) takes the code's parameter."""

    cmd: str
    args: dict[str, Any] = field(default_factory=dict)
    param: str = ""


@dataclass(frozen=True)
class InboundProfile:
    paths: dict[str, str] = field(default_factory=dict)  # operation -> path (an operation left out is not served)
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)  # Loa name -> HTTTN names tried in order
    failed_value: Any = 1  # the status field's value in a refusal (its ok value is [http] ok_value)
    content_field: str = ""  # where a query's or status's answer goes in the reply ("" = at the top level)
    operator_header: str = ""  # a header naming the operator, where the HTTTN passes it that way
    status_reply: dict[str, Any] = field(default_factory=dict)  # HTTTN field -> source (as in [ping.fields])
    control: dict[str, Control] = field(default_factory=dict)  # control code -> Loa command


def parse(table: Any, maps: dict[str, dict[str, Any]], problems: Problems) -> InboundProfile:
    """The `[inbound]` table (absent: no inbound API) and `[maps.control]`; each problem with its key."""
    if not isinstance(table, dict):
        problems.append(Problem("inbound", "not_a_table", "must be a table"))
        return InboundProfile()
    unknown_keys(table, KNOWN, "inbound.", problems)
    return InboundProfile(paths=_paths(table.get("paths", {}), problems), fields=_fields(table.get("fields", {}),
                          problems), failed_value=table.get("failed_value", 1),
                          content_field=str(table.get("content_field", "")),
                          operator_header=str(table.get("operator_header", "")),
                          status_reply=dict(table.get("status_reply", {})),
                          control=_controls(maps.get("control", {}), problems))


def _paths(value: Any, problems: Problems) -> dict[str, str]:
    if not isinstance(value, dict):
        problems.append(Problem("inbound.paths", "not_a_table", "must be a table of operation = path"))
        return {}
    unknown_keys(value, OPERATIONS, "inbound.paths.", problems)
    for op, path in value.items():
        if not isinstance(path, str) or not path.startswith("/"):
            problems.append(Problem(f"inbound.paths.{op}", "value", f"a path starts with / (got {path!r})"))
    if len(set(value.values())) != len(value):
        problems.append(Problem("inbound.paths", "value", "two operations share a path"))
    return {op: str(p) for op, p in value.items() if op in OPERATIONS}


def _fields(value: Any, problems: Problems) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        problems.append(Problem("inbound.fields", "not_a_table", "must be a table of name = field"))
        return {}
    unknown_keys(value, FIELDS, "inbound.fields.", problems)
    out = {}
    for name, names in value.items():
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            problems.append(Problem(f"inbound.fields.{name}", "value", "a field name, or a list tried in order"))
        else:
            out[name] = tuple(names)
    return out


def _controls(value: dict[str, Any], problems: Problems) -> dict[str, Control]:
    out = {}
    for code, spec in value.items():
        where = f"maps.control.{code}"
        if not isinstance(spec, dict) or spec.get("cmd") not in CONTROL_CMDS:
            problems.append(Problem(where, "value", f"{{cmd = one of {', '.join(CONTROL_CMDS)}, args = {{}}, "
                                                    "param = 'argument'}"))
            continue
        unknown_keys(spec, ("cmd", "args", "param"), f"{where}.", problems)
        out[str(code)] = Control(spec["cmd"], dict(spec.get("args", {})), str(spec.get("param", "")))
    return out
