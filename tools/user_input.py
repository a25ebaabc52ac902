"""What a person typed on the `loa` line, checked before any connection or wait: the broker address, the password
file, a file to write. A refusal is a message key of tools/strings, so it reads in the reader's language.

Must not import the agent's runtime or adapters.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agent import i18n
from agent.errors import ConfigError

STRINGS = "tools.strings"
SCHEMES = ("mqtt", "mqtts")


class Refusal(ConfigError):
    """Bad input, as lines of message keys and parameters; str() is English (for logs and the library's callers)."""

    def __init__(self, key: str, /, **params: Any) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = [(key, params)]
        super().__init__(self.text("en"))

    @classmethod
    def of(cls, lines: list[tuple[str, dict[str, Any]]]) -> Refusal:
        """Several problems at once (a file's bad rows), one line each."""
        key, params = lines[0]
        refusal = cls(key, **params)
        refusal.lines = list(lines)
        refusal.args = (refusal.text("en"),)
        return refusal

    def text(self, lang: str) -> str:
        return "\n".join(i18n.render(lang, key, params, package=STRINGS) for key, params in self.lines)


def broker_url(text: str) -> str:
    """An MQTT address with its scheme; a bare HOST:PORT is refused with the line to type instead (the scheme says
    whether the link is encrypted, so it is never guessed)."""
    if "://" not in text:
        raise Refusal("broker_no_scheme", url=text)
    parts = urlsplit(text)
    try:
        port_ok = parts.port is None or 0 < parts.port
    except ValueError:
        port_ok = False
    if parts.scheme not in SCHEMES or not parts.hostname or not port_ok:
        raise Refusal("broker_bad", url=text)
    return text


def read_password(path: str) -> str:
    """The password in a file (one line), or "" when no file is given."""
    if not path:
        return ""
    try:
        return Path(path).expanduser().read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise Refusal("file_missing", opt="--password-file", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Refusal("file_unreadable", opt="--password-file", path=path, why=_why(exc)) from None


def writable(path: Path, opt: str = "--out") -> None:
    """A file can be written at `path`, checked before anything waits on the network for its content."""
    folder = path.parent
    if path.is_dir():
        raise Refusal("out_is_folder", opt=opt, path=path)
    if not folder.is_dir():
        raise Refusal("out_no_folder", opt=opt, path=path, folder=folder)
    try:  # by trying: permission bits say nothing for root, a read-only mount or a full quota
        if path.exists():
            path.open("ab").close()
        else:
            tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        raise Refusal("out_not_writable", opt=opt, path=path, why=_why(exc)) from None


def _why(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc)
