"""Exports staff open: the play log as .xlsx (read back from the file's XML), as CSV for Excel on Vietnamese Windows
(BOM, `;`, decimal comma, headers and values in the reader's language) and as JSON for scripts (codes, ISO times)."""

from __future__ import annotations

import json
import re
import zipfile
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest

from tools import staff_logs, table_out

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
START = int(datetime(2026, 12, 1, 5, 30, tzinfo=TZ).timestamp() * 1000)
PLAY = {"jti": "j-1", "play_id": "p-1", "title": "Bản tin sáng", "priority": "emergency", "source_kind": "tts",
        "started_ts": START, "ended_ts": START + 90_500, "duration_s": 90.5, "result": "completed",
        "relay_confirmed": True, "level_dbfs": None}
ANSWERS = {"dev-b": [{**PLAY, "result": "preempted", "relay_confirmed": False}], "dev-a": [PLAY]}
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def table() -> table_out.Table:
    return staff_logs.playlog_table(ANSWERS, TZ)


def test_csv_for_excel_on_vietnamese_windows(tmp_path: Path):
    path = tmp_path / "plays.csv"
    table_out.write(table(), path, table_out.format_of(path, None), "vi")
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == ("Cụm loa;Mã lệnh;Tiêu đề;Mức ưu tiên;Nguồn;Bắt đầu;Kết thúc;Thời lượng (giây);Kết quả;"
                        "Rơ-le xác nhận bật;Mức âm (dBFS)")
    assert lines[1] == ("dev-a;j-1;Bản tin sáng;khẩn cấp;đọc văn bản tự động;2026-12-01 05:30:00;2026-12-01 05:31:30;"
                        "90,5;hoàn thành;có;")
    assert lines[2].startswith("dev-b;") and ";bị ngắt bởi bản tin khẩn hơn;không;" in lines[2]


def test_csv_in_english_keeps_the_decimal_point(tmp_path: Path):
    path = tmp_path / "plays.txt"
    table_out.write(table(), path, "csv", "en")
    lines = path.read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[0].startswith("Unit;Command id;Title;Priority;Source;Started;")
    assert lines[1].endswith(";90.5;completed;yes;")


def test_xlsx_has_typed_cells_and_the_readers_words(tmp_path: Path):
    path = tmp_path / "plays.xlsx"
    table_out.write(table(), path, table_out.format_of(path, None), "vi")
    with zipfile.ZipFile(path) as book:
        shared = [si.findtext("m:t", namespaces=NS) for si in
                  ElementTree.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", NS)]
        sheet_xml = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
        workbook = book.read("xl/workbook.xml").decode()
    assert 'name="Nhật ký phát thanh"' in workbook
    rows = sheet_xml.findall("m:sheetData/m:row", NS)
    cells = [{re.sub(r"\d", "", c.get("r", "")): c for c in row.findall("m:c", NS)} for row in rows]

    def text(cell: ElementTree.Element) -> str:
        value = cell.findtext("m:v", namespaces=NS) or ""
        return shared[int(value)] or "" if cell.get("t") == "s" else value

    assert [text(c) for c in cells[0].values()][:3] == ["Cụm loa", "Mã lệnh", "Tiêu đề"]
    assert text(cells[1]["A"]) == "dev-a" and text(cells[1]["I"]) == "hoàn thành" and text(cells[1]["D"]) == "khẩn cấp"
    assert cells[1]["H"].get("t") is None and text(cells[1]["H"]) == "90.5"  # a number, not text
    started = float(text(cells[1]["F"]))  # an Excel date: days since 1899-12-30, local time
    assert started == pytest.approx((datetime(2026, 12, 1, 5, 30) - datetime(1899, 12, 30)).total_seconds() / 86400)
    assert text(cells[2]["I"]) == "bị ngắt bởi bản tin khẩn hơn"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left beside it


def test_json_keeps_codes_and_iso_times(tmp_path: Path):
    path = tmp_path / "plays.json"
    table_out.write(table(), path, table_out.format_of(path, None), "vi")
    rows = json.loads(path.read_text(encoding="utf-8"))
    assert rows[0] == {"dev": "dev-a", "jti": "j-1", "title": "Bản tin sáng", "priority": "emergency",
                       "source_kind": "tts", "started": "2026-12-01T05:30:00+07:00",
                       "ended": "2026-12-01T05:31:30+07:00", "duration_s": 90.5, "result": "completed",
                       "relay_confirmed": True, "level_dbfs": None}


def test_every_code_a_play_log_may_carry_has_words_in_both_languages():
    from agent.i18n import strings

    schema = json.loads((Path(__file__).parents[2] / "agent/schemas/playlog.json").read_text())
    for column in staff_logs.PLAYLOG_CODED:
        for code in schema["properties"][column]["enum"]:
            for lang in ("vi", "en"):
                assert f"playlog_{column}_{code}" in strings(lang, "tools.strings"), (lang, column, code)
    for column in staff_logs.PLAYLOG_COLUMNS:
        assert f"playlog_col_{column}" in strings("vi", "tools.strings")
