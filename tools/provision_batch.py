"""`loa provision --csv`: one bundle per row of a units file (columns id, commune, lat, lon, groups; groups
separated by `;`). Every row is checked, and duplicates refused, before anything is written; then a report of
what was made (OUT/provisioned.csv, no secrets in it).

Must not import the agent's adapters or runtime.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.core.topics import valid_name
from agent.errors import ConfigError
from province import broker, ca
from tools.provision import UnitSpec, provision_unit

COLUMNS = ("id", "commune", "lat", "lon", "groups")
REPORT = "provisioned.csv"
NAME_RULE = "use 1-64 characters of A-Z a-z 0-9 . _ -"


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
    """All rows, or one ConfigError listing every problem (file:line: what)."""
    records = _records(path)
    rows, errors = [], []
    for line, record in records:
        problems = _row_problems(record)
        errors += [f"{path.name} line {line}: {p}" for p in problems]
        if not problems:
            rows.append(_row(line, record))
    errors += _duplicates(path, rows)
    if errors or not rows:
        raise ConfigError("\n".join(errors) or f"{path}: no units in the file")
    return rows


def _records(path: Path) -> list[tuple[int, dict[str, str]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:  # -sig: a spreadsheet's byte-order mark
            reader = csv.DictReader(f)
            _check_header(path, reader.fieldnames)
            return [(reader.line_num, _clean(r)) for r in reader if any((v or "").strip() for v in r.values())]
    except FileNotFoundError:
        raise ConfigError(f"--csv: file not found: {path}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{path}: not a UTF-8 CSV file ({exc})") from None


def _check_header(path: Path, fields: Sequence[str] | None) -> None:
    missing = [c for c in COLUMNS if c not in [f.strip().lower() for f in fields or []]]
    if missing:
        raise ConfigError(f"{path}: the first line must name the columns {', '.join(COLUMNS)} "
                          f"(missing: {', '.join(missing)})")


def _clean(record: dict[str | None, str | None]) -> dict[str, str]:
    return {str(k).strip().lower(): str(v or "").strip() for k, v in record.items() if k is not None}


def _row_problems(r: dict[str, str]) -> list[str]:
    names = [("id", r["id"]), ("commune", r["commune"]), *(("groups", g) for g in _split(r["groups"]))]
    problems = [f"{col} {v!r}: {NAME_RULE}" for col, v in names if not valid_name(v)]
    problems += _coordinate(r["lat"], "lat", 90) + _coordinate(r["lon"], "lon", 180)
    return problems


def _coordinate(text: str, col: str, limit: float) -> list[str]:
    try:
        value = float(text)
    except ValueError:
        return [f"{col} {text!r}: must be a number in decimal degrees"]
    return [] if math.isfinite(value) and -limit <= value <= limit else [f"{col} {text}: must be within ±{limit:g}"]


def _split(groups: str) -> list[str]:
    return [g.strip() for g in groups.split(";") if g.strip()]


def _row(line: int, r: dict[str, str]) -> Row:
    groups = tuple(dict.fromkeys([r["commune"], *_split(r["groups"])]))
    return Row(line, r["id"], r["commune"], float(r["lat"]), float(r["lon"]), groups)


def _duplicates(path: Path, rows: list[Row]) -> list[str]:
    first: dict[str, int] = {}
    errors = []
    for row in rows:
        if row.device_id in first:
            errors.append(f"{path.name} line {row.line}: id {row.device_id} is already on line {first[row.device_id]}")
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


def provision_all(rows: list[Row], template: UnitSpec, out: Path) -> list[Made]:
    """One bundle per row, in file order; stops at the first failure (what was made is in the report so far)."""
    check_new(rows, template, out)
    made: list[Made] = []
    try:
        for row in rows:
            made.append(_one(row, template, out))
    finally:
        write_report(out, made)
    return made


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


def write_report(out: Path, made: list[Made]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with (out / REPORT).open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow([*COLUMNS, "bundle", "credential"])
        for m in made:
            r = m.row
            w.writerow([r.device_id, r.commune, r.lat, r.lon, ";".join(r.groups), m.bundle, m.credential])
    return out / REPORT
