"""Reading a units file as a spreadsheet saves it: UTF-8 with or without a byte-order mark, or Windows-1258 (the
Vietnamese ANSI code page, whose tone marks are separate combining characters: the text is NFC-normalised), with
`,`, `;` or tab between fields (found from the header line), Vietnamese or English column names.

A commune may be written as people write it ("Xã Ia Grai"); its slug (the group name units use) is derived by
`slug`. Must not import the agent's runtime or adapters.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from pathlib import Path

from tools.user_input import Refusal

DELIMITERS = (",", ";", "\t")
ALIASES = {"mã": "id", "mã cụm loa": "id", "xã": "commune", "xã/phường": "commune", "vĩ độ": "lat",
           "kinh độ": "lon", "nhóm": "groups"}
SLUG_MAX = 64
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    """The ASCII group name of a commune: đ -> d, accents dropped, lower case, every run of other characters one
    `-`, none at either end, at most 64 characters. "Xã Ia Grai" -> "xa-ia-grai"; "xa-ia-grai" stays as it is."""
    text = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    ascii_ = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return _NOT_SLUG.sub("-", ascii_).strip("-")[:SLUG_MAX].rstrip("-")


def records(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line number, {column: text}) for each non-blank row; a Refusal for a file that cannot be read as one."""
    text = decode(path)
    lines = text.splitlines()
    header = next((ln for ln in lines if ln.strip()), "")
    delimiter = _delimiter(header, columns)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        names = [_column(f) for f in reader.fieldnames or []]
        if missing := [c for c in columns if c not in names]:
            raise Refusal("csv_columns", file=path.name, columns=", ".join(columns), missing=", ".join(missing))
        reader.fieldnames = names
        return [(reader.line_num, _clean(r)) for r in reader if any((v or "").strip() for v in r.values())]
    except csv.Error as exc:
        raise Refusal("csv_unreadable", file=path.name, why=str(exc)) from None


def decode(path: Path) -> str:
    """The file's text, NFC; UTF-8 first (a BOM, or valid UTF-8), else Windows-1258."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise Refusal("file_missing", opt="--csv", path=path) from None
    except OSError as exc:
        raise Refusal("file_unreadable", opt="--csv", path=path, why=str(exc.strerror or exc)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1258")
        except UnicodeDecodeError:
            raise Refusal("csv_encoding", file=path.name) from None
    return unicodedata.normalize("NFC", text)


def _delimiter(header: str, columns: tuple[str, ...]) -> str:
    """The delimiter that splits the header into the expected columns; else the one it holds most of."""
    for d in DELIMITERS:
        if all(c in [_column(f) for f in header.split(d)] for c in columns):
            return d
    return max(DELIMITERS, key=header.count)


def _column(name: str | None) -> str:
    key = (name or "").strip().lower()
    return ALIASES.get(key, key)


def _clean(record: dict[str | None, str | None]) -> dict[str, str]:
    return {str(k): str(v or "").strip() for k, v in record.items() if k is not None}
