"""Tables that people open: one writer for every export of the `loa` command (play logs, ...), as .xlsx for staff,
CSV that Excel on Vietnamese Windows opens as it is (UTF-8 with a byte-order mark, `;` between fields, a decimal
comma in Vietnamese), or JSON for scripts (codes and ISO times, never translated).

Headers and coded values are message keys of tools/strings: `{table}_col_{column}` and `{table}_{column}_{value}`.
Must not import the agent's runtime or adapters.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from agent import i18n
from province.files import write_public
from tools.user_input import STRINGS, Refusal

FORMATS = ("xlsx", "csv", "json")
CSV_DELIMITER = ";"  # the list separator of Excel on Vietnamese (and most European) Windows
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]  # raw values: str, int, float, bool, None, datetime
    coded: frozenset[str] = field(default_factory=frozenset)  # columns whose values are codes to translate


def format_of(path: Path, chosen: str | None) -> str:
    """--format, else the file's extension, else CSV."""
    if chosen:
        return chosen
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "csv"


def require(fmt: str) -> None:
    """Before any wait: the library the format needs is installed."""
    if fmt == "xlsx":
        _xlsxwriter()


def write(table: Table, path: Path, fmt: str, lang: str) -> None:
    """The whole file at once (a reader never sees half of it)."""
    if fmt == "xlsx":
        _write_xlsx(table, path, lang)
    elif fmt == "json":
        write_public(path, as_json(table) + "\n")
    else:
        write_public(path, "\ufeff" + as_csv(table, lang))


def as_json(table: Table) -> str:
    rows = [{c: _json_value(r.get(c)) for c in table.columns} for r in table.rows]
    return json.dumps(rows, ensure_ascii=False, indent=1)


def as_csv(table: Table, lang: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow(headers(table, lang))
    for row in table.rows:
        writer.writerow(_text(cell(table, c, row.get(c), lang), lang) for c in table.columns)
    return out.getvalue()


def headers(table: Table, lang: str) -> list[str]:
    return [_say(lang, f"{table.name}_col_{c}") for c in table.columns]


def cell(table: Table, column: str, value: Any, lang: str) -> Any:
    """A value as a person reads it: codes and yes/no in words; numbers and times stay typed (for .xlsx)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _say(lang, "value_yes" if value else "value_no")
    if column in table.coded:
        return _say(lang, f"{table.name}_{column}_{value}")
    return value


def _text(value: Any, lang: str) -> str:
    if isinstance(value, datetime):
        return value.strftime(TIME_FORMAT)
    if isinstance(value, float):
        text = repr(value)
        return text.replace(".", ",") if lang == "vi" else text  # Vietnamese Excel reads 1,5 as one and a half
    return str(value)


def _json_value(value: Any) -> Any:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else value


def _say(lang: str, key: str) -> str:
    return i18n.render(lang, key, {}, package=STRINGS)


# ---- .xlsx -------------------------------------------------------------------------------------------------------


def _xlsxwriter() -> Any:
    try:
        import xlsxwriter
    except ImportError:  # the console's extra (loa[console]); a unit never needs it
        raise Refusal("xlsx_missing") from None
    return xlsxwriter


def _write_xlsx(table: Table, path: Path, lang: str) -> None:
    xlsxwriter = _xlsxwriter()
    with _replaced(path) as tmp:
        book = xlsxwriter.Workbook(str(tmp), {"remove_timezone": True})
        sheet = book.add_worksheet(_say(lang, f"{table.name}_sheet")[:31])
        bold, when = book.add_format({"bold": True}), book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        sheet.write_row(0, 0, headers(table, lang), bold)
        for y, row in enumerate(table.rows, start=1):
            for x, column in enumerate(table.columns):
                value = cell(table, column, row.get(column), lang)
                sheet.write(y, x, value, when if isinstance(value, datetime) else None)
        sheet.freeze_panes(1, 0)
        sheet.autofit()
        book.close()


@contextmanager
def _replaced(path: Path) -> Iterator[Path]:
    """A temporary file beside `path` that replaces it once complete (removed on failure)."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
