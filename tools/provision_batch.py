"""`loa provision --csv`: one bundle per row of a units file (columns id, commune, lat, lon, groups; groups
separated by `;`; the file as a spreadsheet saves it: tools.units_file). Every row is checked, and duplicates
refused, before anything is written; then a report of what was made (OUT/provisioned.csv, no secrets in it) and
the units' status page passwords in a file of mode 0600 (OUT/passwords.csv).

Must not import the agent's adapters or runtime.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path

from agent.core.topics import valid_name
from agent.errors import ConfigError
from province import broker, ca
from province.files import write_private
from tools import table_out, units_file
from tools.provision import UnitSpec, provision_unit
from tools.table_out import Table
from tools.user_input import Refusal

COLUMNS = ("id", "commune", "lat", "lon", "groups")
REPORT = "provisioned.csv"
PASSWORDS = "passwords.csv"


@dataclass(frozen=True)
class Row:
    line: int
    device_id: str
    commune: str
    lat: float
    lon: float
    groups: tuple[str, ...]  # the commune first, then the file's groups


@dataclass(frozen=True)
class Made:
    row: Row
    bundle: Path
    credential: str  # "certificate <serial>", "password" or "no credentials"
    status_password: str = ""  # printed once for the unit's label; never written to the report


# ---- reading and checking ------------------------------------------------------------------------------------------


def read_units(path: Path) -> list[Row]:
    """All rows, or one Refusal with a line per problem (file, line, column: what)."""
    rows, errors = [], []
    for line, record in units_file.records(path, COLUMNS):
        problems = _row_problems(record)
        errors += [(key, {"file": path.name, "line": line, **params}) for key, params in problems]
        if not problems:
            rows.append(_row(line, record))
    errors += _duplicates(path, rows)
    if errors:
        raise Refusal.of(errors)
    if not rows:
        raise Refusal("csv_empty", file=path.name)
    return rows


Problem = tuple[str, dict[str, object]]


def _row_problems(r: dict[str, str]) -> list[Problem]:
    names = [("id", r["id"]), *(("groups", g) for g in _split(r["groups"]))]
    problems: list[Problem] = [("csv_bad_name", {"col": col, "value": v}) for col, v in names if not valid_name(v)]
    if not valid_name(units_file.slug(r["commune"])):
        problems.append(("csv_bad_commune", {"col": "commune", "value": r["commune"]}))
    return problems + _coordinate(r["lat"], "lat", 90) + _coordinate(r["lon"], "lon", 180)


def _coordinate(text: str, col: str, limit: float) -> list[Problem]:
    value = _number(text)
    if value is None:
        return [("csv_not_number", {"col": col, "value": text})]
    ok = math.isfinite(value) and -limit <= value <= limit
    return [] if ok else [("csv_out_of_range", {"col": col, "value": text, "limit": f"{limit:g}"})]


def _number(text: str) -> float | None:
    """Decimal degrees, with a decimal point or (as Vietnamese spreadsheets write it) a decimal comma."""
    try:
        return float(text if "." in text else text.replace(",", ".", 1))
    except ValueError:
        return None


def _split(groups: str) -> list[str]:
    """Groups in one cell, separated by `;` or `,` (group names hold neither)."""
    return [g.strip() for g in re.split(r"[;,]", groups) if g.strip()]


def _row(line: int, r: dict[str, str]) -> Row:
    commune = units_file.slug(r["commune"])
    groups = tuple(dict.fromkeys([commune, *_split(r["groups"])]))
    lat, lon = _number(r["lat"]), _number(r["lon"])
    assert lat is not None and lon is not None  # checked by _row_problems
    return Row(line, r["id"], r["commune"], lat, lon, groups)


def _duplicates(path: Path, rows: list[Row]) -> list[Problem]:
    first: dict[str, int] = {}
    errors: list[Problem] = []
    for row in rows:
        if row.device_id in first:
            errors.append(("csv_duplicate", {"file": path.name, "line": row.line, "col": "id", "value": row.device_id,
                                             "first": first[row.device_id]}))
        first.setdefault(row.device_id, row.line)
    return errors


def check_new(rows: list[Row], template: UnitSpec, out: Path) -> None:
    """A batch never re-provisions: an existing bundle, certificate or broker identity is refused by name."""
    errors = [f"{r.device_id}: {why}" for r in rows for why in _existing(r.device_id, template, out)]
    if errors:
        raise ConfigError("\n".join([*errors, "re-provision an existing unit on its own (`loa provision ID`)"]))


def _existing(device_id: str, template: UnitSpec, out: Path) -> list[str]:
    found = []
    if (out / device_id).exists():
        found.append(f"a bundle already exists in {out / device_id}")
    if template.ca_dir and ca.active(template.ca_dir, device_id):
        found.append("already has a valid certificate from the CA")
    if template.broker_dir and device_id in broker.members(template.broker_dir):
        found.append("is already registered with the broker")
    return found


# ---- making the bundles ----------------------------------------------------------------------------------------


def provision_all(rows: list[Row], template: UnitSpec, out: Path, passwords: Path | None = None,
                  lang: str = "en") -> list[Made]:
    """One bundle per row, in file order; stops at the first failure (what was made is in the report so far, and
    the status page passwords of those units in the passwords file, mode 0600)."""
    passwords = passwords or out / PASSWORDS
    check_new(rows, template, out)
    if passwords.exists():  # a previous batch's passwords exist nowhere else
        raise Refusal("passwords_exist", path=passwords)
    made: list[Made] = []
    try:
        for row in rows:
            made.append(_one(row, template, out))
    finally:
        write_report(out, made, lang)
        write_passwords(passwords, made, lang)
    return made


def write_passwords(path: Path, made: list[Made], lang: str) -> None:
    """The status page passwords for the labels, in a file only its owner reads (a spreadsheet opens it)."""
    rows = [{"id": m.row.device_id, "commune": m.row.commune, "password": m.status_password}
            for m in made if m.status_password]
    if rows:
        write_private(path, "\ufeff" + table_out.as_csv(Table("passwords", ("id", "commune", "password"), rows), lang))


def _one(row: Row, template: UnitSpec, out: Path) -> Made:
    site = {"commune": row.commune, "lat": row.lat, "lon": row.lon}
    spec = dataclasses.replace(template, device_id=row.device_id, out=out / row.device_id, groups=row.groups,
                               site=site, replace=False)
    made = provision_unit(spec)
    return Made(row, spec.out, _credential(template, row.device_id), made.status_password)


def _credential(template: UnitSpec, device_id: str) -> str:
    if template.ca_dir:
        return f"certificate {ca.active(template.ca_dir, device_id)[0].serial:x}"
    return "password" if template.broker_dir else "no credentials"


def write_report(out: Path, made: list[Made], lang: str = "en") -> Path:
    """What was made, as a CSV a spreadsheet opens (its first five columns read back as a units file)."""
    rows = [{"id": m.row.device_id, "commune": m.row.commune, "lat": m.row.lat, "lon": m.row.lon,
             "groups": ";".join(m.row.groups), "bundle": str(m.bundle), "credential": m.credential} for m in made]
    table_out.write(Table("report", (*COLUMNS, "bundle", "credential"), rows), out / REPORT, "csv", lang)
    return out / REPORT
