"""The units file of `loa provision --csv` as spreadsheets save it: `,` `;` or tab, UTF-8 with or without a BOM or
Windows-1258 (tone marks as combining characters), Vietnamese column and commune names, decimal commas; the slug
rule; every bad row named by line and column in the reader's language."""

from __future__ import annotations

import json
import tomllib
import unicodedata
from pathlib import Path

import pytest

from tools import provision_batch as batch
from tools import units_file
from tools.provision import UnitSpec
from tools.user_input import Refusal

ROWS = [("gl-0001", "Xã Ia Grai", "13,9832", "107,9234", "province"),
        ("gl-0002", "Thị trấn Chư Sê", "13.6993", "108.0821", "province;huyen-chu-se"),
        ("gl-0003", "Phường Hội Thương", "13.98", "108.0", "")]

TONES = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng


def cp1258(text: str) -> bytes:
    """Text as Windows saves it in code page 1258: letters with circumflex, breve or horn precomposed, the five tone
    marks as separate combining characters."""
    out = b""
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            tone = next(m for m in parts if m in TONES)
            out += (unicodedata.normalize("NFC", parts.replace(tone, "")) + tone).encode("cp1258")
    return out


def sheet(delimiter: str, header: tuple[str, ...] = ("id", "commune", "lat", "lon", "groups")) -> str:
    def quoted(v: str) -> str:
        return f'"{v}"' if delimiter in v or ";" in v or "," in v else v

    return "\r\n".join(delimiter.join(quoted(v) for v in row) for row in [header, *ROWS]) + "\r\n"


@pytest.mark.parametrize("name, encode", [
    ("utf-8 with BOM, semicolons", lambda: b"\xef\xbb\xbf" + sheet(";").encode()),
    ("utf-8, commas", lambda: sheet(",").encode()),
    ("utf-8, tabs, Vietnamese headers", lambda: sheet("\t", ("Mã", "Xã", "Vĩ độ", "Kinh độ", "Nhóm")).encode()),
    ("windows-1258, semicolons", lambda: cp1258(sheet(";"))),
])
def test_a_spreadsheets_units_file_reads_the_same_whatever_it_was_saved_as(tmp_path, name, encode):
    path = tmp_path / "units.csv"
    path.write_bytes(encode())
    rows = batch.read_units(path)
    assert [r.commune for r in rows] == [unicodedata.normalize("NFC", r[1]) for r in ROWS], name
    assert all(unicodedata.is_normalized("NFC", r.commune) for r in rows)
    assert [r.groups for r in rows] == [("xa-ia-grai", "province"), ("thi-tran-chu-se", "province", "huyen-chu-se"),
                                        ("phuong-hoi-thuong",)]
    assert (rows[0].lat, rows[0].lon) == (13.9832, 107.9234)


@pytest.mark.parametrize("name, expected", [
    ("Xã Ia Grai", "xa-ia-grai"),
    ("xa-ia-grai", "xa-ia-grai"),
    ("Đắk Đoa", "dak-doa"),
    ("Phường 1", "phuong-1"),
    ("  Xã  Ia Khươl (cũ) ", "xa-ia-khuol-cu"),
    (unicodedata.normalize("NFD", "Thị trấn Chư Sê"), "thi-tran-chu-se"),
    ("…", ""),
])
def test_the_slug_rule(name, expected):
    assert units_file.slug(name) == expected


def test_bad_rows_are_named_by_line_and_column_and_nothing_is_made(tmp_path, keys: Path):
    path = tmp_path / "units.csv"
    path.write_text("id;commune;lat;lon;groups\ngl-1;Xã Ia Grai;13,9;108,1;\ngl 2;Xã A;91;108;\ngl-3;?;13;x;tỉnh\n",
                    encoding="utf-8")
    with pytest.raises(Refusal) as caught:
        batch.read_units(path)
    assert caught.value.text("vi").splitlines() == [
        "units.csv dòng 3, cột id: 'gl 2': chỉ dùng 1-64 ký tự A-Z a-z 0-9 . _ -",
        "units.csv dòng 3, cột lat: 91: phải trong khoảng ±90",
        "units.csv dòng 4, cột groups: 'tỉnh': chỉ dùng 1-64 ký tự A-Z a-z 0-9 . _ -",
        "units.csv dòng 4, cột commune: '?': tên xã cần có chữ hoặc số",
        "units.csv dòng 4, cột lon: 'x': phải là số độ thập phân",
    ]
    assert not (tmp_path / "units").exists()


def test_a_vietnamese_commune_is_the_units_commune_and_its_slug_its_first_group(tmp_path, keys: Path):
    path = tmp_path / "units.csv"
    path.write_bytes(cp1258("id;commune;lat;lon;groups\r\ngl-0001;Xã Ia Grai;13,98;107,92;province\r\n"))
    template = UnitSpec("batch", keys / "trust.jwks", "mqtt://127.0.0.1:1883", tmp_path / "units", status_port=8080)
    [made] = batch.provision_all(batch.read_units(path), template, tmp_path / "units", lang="vi")
    bundle = tmp_path / "units" / "gl-0001"
    assert tomllib.loads((bundle / "config.toml").read_text())["device"]["groups"] == ["xa-ia-grai", "province"]
    assert json.loads((bundle / "unit.json").read_text(encoding="utf-8"))["commune"] == "Xã Ia Grai"
    [again] = batch.read_units(tmp_path / "units" / batch.REPORT)  # the report (Vietnamese headers) reads back
    assert (again.commune, again.groups, again.lat) == ("Xã Ia Grai", ("xa-ia-grai", "province"), 13.98)
    passwords = tmp_path / "units" / batch.PASSWORDS
    assert passwords.stat().st_mode & 0o777 == 0o600
    assert passwords.read_bytes().decode() == (
        f"\ufeffCụm loa;Xã;Mật khẩu trang trạng thái\r\ngl-0001;Xã Ia Grai;{made.status_password}\r\n")
    more = tmp_path / "more.csv"
    more.write_text("id,commune,lat,lon,groups\ngl-0002,Xã Ia Grai,13.9,107.9,\n", encoding="utf-8")
    with pytest.raises(Refusal, match="passwords.csv already exists"):  # an earlier batch's passwords are kept
        batch.provision_all(batch.read_units(more), template, tmp_path / "units")
    assert not (tmp_path / "units" / "gl-0002").exists()
