"""`loa provision --csv`: one bundle per row, every problem of the file listed at once, duplicates refused before
anything is written, and a report of what was made."""

from __future__ import annotations

import csv
import json
import re
import tomllib
from pathlib import Path

import pytest

from agent.errors import ConfigError
from province import broker, ca
from tools import provision_batch as batch
from tools.provision import UnitSpec
from tools.user_input import Refusal

HEADER = "id,commune,lat,lon,groups\n"
GOOD = HEADER + (
    "gl-0001,xa-ia-grai,13.9832,107.9234,province;huyen-ia-grai\n"
    "gl-0002,xa-ia-grai,13.9901,107.9301,province\n"
    "gl-0003,xa-chu-se,13.6993,108.0821,\n"
)


@pytest.fixture
def template(tmp_path: Path, keys: Path) -> UnitSpec:
    authority = ca.init(tmp_path / "ca")
    broker.init(tmp_path / "broker", None, tls_port=8883, ca_dir=authority.root)
    return UnitSpec("batch", keys / "trust.jwks", "mqtts://127.0.0.1:8883", tmp_path / "units",
                    broker_dir=tmp_path / "broker", ca_dir=authority.root)


def units_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "units.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_one_bundle_per_row_with_the_commune_as_first_group_and_a_report(tmp_path, template):
    made = batch.provision_all(batch.read_units(units_file(tmp_path, GOOD)), template, tmp_path / "units")
    assert [m.row.device_id for m in made] == ["gl-0001", "gl-0002", "gl-0003"]
    config = tomllib.loads((tmp_path / "units" / "gl-0001" / "config.toml").read_text())
    assert config["device"]["groups"] == ["xa-ia-grai", "province", "huyen-ia-grai"]
    assert json.loads((tmp_path / "units" / "gl-0003" / "unit.json").read_text()) == {
        "id": "gl-0003", "commune": "xa-chu-se", "lat": 13.6993, "lon": 108.0821}
    assert broker.members(tmp_path / "broker") == {"gl-0001", "gl-0002", "gl-0003"}
    with (tmp_path / "units" / batch.REPORT).open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    assert [r["id"] for r in rows] == ["gl-0001", "gl-0002", "gl-0003"]
    assert all(r["credential"].startswith("certificate ") for r in rows)
    assert "PRIVATE KEY" not in (tmp_path / "units" / batch.REPORT).read_text()
    assert [r.device_id for r in batch.read_units(tmp_path / "units" / batch.REPORT)] == [r["id"] for r in rows]


def test_every_problem_of_the_file_is_listed_at_once_and_nothing_is_written(tmp_path, template):
    text = HEADER + (
        "gl-0001,xa-ia-grai,13.98,107.92,province\n"
        "gl-0002,Xã Ia Grai,13.99,107.93,province\n"
        "gl-0005,…,13.99,107.93,province\n"
        "gl-0003,xa-chu-se,113.7,108.08,\n"
        "gl-0004,xa-chu-se,13.7,east,\n"
        "gl-0001,xa-chu-se,13.7,108.1,tinh gia lai\n"
    )
    with pytest.raises(Refusal) as caught:
        batch.read_units(units_file(tmp_path, text))
    assert str(caught.value).splitlines() == [
        "units.csv line 4, column commune: '…': a commune name needs letters or digits",
        "units.csv line 5, column lat: 113.7: must be within ±90",
        "units.csv line 6, column lon: 'east': must be a number in decimal degrees",
        "units.csv line 7, column groups: 'tinh gia lai': use 1-64 characters of A-Z a-z 0-9 . _ -",
    ]
    assert caught.value.text("vi").splitlines()[0] == "units.csv dòng 4, cột commune: '…': tên xã cần có chữ hoặc số"
    assert not (tmp_path / "units").exists()


def test_a_duplicate_id_in_the_file_names_both_lines(tmp_path):
    text = HEADER + "gl-0001,xa-a,13,108,\ngl-0002,xa-a,13,108,\ngl-0001,xa-b,14,108,\n"
    with pytest.raises(ConfigError, match="units.csv line 4, column id: gl-0001 is already on line 2"):
        batch.read_units(units_file(tmp_path, text))


def test_units_that_already_exist_are_refused_by_name_before_anything_is_made(tmp_path, template):
    rows = batch.read_units(units_file(tmp_path, GOOD))
    batch.provision_all(rows[:1], template, tmp_path / "units")
    with pytest.raises(ConfigError) as caught:
        batch.provision_all(rows, template, tmp_path / "units")
    lines = str(caught.value).splitlines()
    assert lines[0] == f"gl-0001: a bundle already exists in {tmp_path / 'units' / 'gl-0001'}"
    assert "gl-0001: already has a valid certificate from the CA" in lines
    assert "gl-0001: is already registered with the broker" in lines
    assert not (tmp_path / "units" / "gl-0002").exists()


@pytest.mark.parametrize("text, problem", [
    ("id,commune,lat\n", "the first line must name the columns id, commune, lat, lon, groups (missing: lon, groups)"),
    (HEADER, "no units in the file"),
])
def test_a_file_without_the_columns_or_rows_is_refused(tmp_path, text, problem):
    with pytest.raises(ConfigError, match=re.escape(problem)):
        batch.read_units(units_file(tmp_path, text))


def test_a_spreadsheet_export_with_a_byte_order_mark_and_blank_lines_is_read(tmp_path):
    path = tmp_path / "units.csv"
    path.write_bytes("\ufeffID, Commune ,lat,lon,groups\r\ngl-0009,xa-a,13.5,108.5,province\r\n,,,,\r\n".encode())
    [row] = batch.read_units(path)
    assert (row.device_id, row.groups, row.lat) == ("gl-0009", ("xa-a", "province"), 13.5)
