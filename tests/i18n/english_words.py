"""Finding English in text meant to be Vietnamese: the English words are those of the English strings files that
the Vietnamese files do not use themselves (values and names such as `province` or `off` stay technical); code,
option names, metavariables in capitals, paths and `quoted` tokens are left out before the words are compared."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ("agent/strings", "tools/strings", "sim/strings")
TECHNICAL = {"mqtt", "mqtts", "json", "url", "csv", "xlsx", "html", "http", "https", "tls", "toml", "api", "ca",
             "sqlite", "ntp", "pem", "bom", "utf", "acl", "wgs", "htttn", "loa", "id", "jti", "qa", "locale"}
_CODE = re.compile(r"`[^`]*`|<[^>]*>|\[[^\]]*\]|\{[^}]*\}|\S*[/._=$@:\\]\S*|--?[\w-]+|\{\w+\}")


# the typed words of argparse's help: an indented subcommand name, or a usage block up to its blank line
_LITERAL = re.compile(r"^ {2,4}[\w-]+(?= {2,}|$)|^(?:usage|cách dùng): .*?(?:\n\n|\Z)", re.MULTILINE | re.DOTALL)


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]+", text)}


def english_words() -> set[str]:
    en = vi = ""
    for folder in FOLDERS:
        en += (REPO / folder / "en.toml").read_text(encoding="utf-8")
        vi += (REPO / folder / "vi.toml").read_text(encoding="utf-8")
    return {w for w in _words(_values(en)) - _words(_values(vi)) if len(w) > 2} - TECHNICAL


def _values(toml: str) -> str:
    return "\n".join(line.split("=", 1)[-1] for line in toml.splitlines() if not line.startswith("#"))


def english_in(text: str, words: set[str]) -> list[str]:
    """The English words of `text`, leaving out code, option names, paths and capitalised metavariables."""
    plain = _CODE.sub(" ", _LITERAL.sub(" ", text))
    found = [w for w in re.findall(r"[A-Za-z]+", plain) if not w.isupper() and w.lower() in words]
    return sorted(set(found))
