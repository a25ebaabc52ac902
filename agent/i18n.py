"""Staff-facing text in Vietnamese and English, from the strings files (agent/strings/*.toml), never from code.

Must not import the core or adapters.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("vi", "en")


def default_language(env: dict[str, str]) -> str:
    """LOA_LANG wins, then the locale as POSIX reads it (LC_ALL, then LC_MESSAGES, then LANG: vi_VN...), else
    English."""
    lang = next((env[k] for k in ("LOA_LANG", "LC_ALL", "LC_MESSAGES", "LANG") if env.get(k)), "")
    return "vi" if lang.startswith("vi") else "en"


@cache
def strings(lang: str, package: str = "agent.strings") -> dict[str, str]:
    text = resources.files(package).joinpath(f"{lang}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def render(lang: str, key: str, params: dict[str, Any], package: str = "agent.strings") -> str:
    """The sentence for a key; an unknown key or a missing parameter still yields a readable line."""
    template = strings(lang, package).get(key) or strings("en", package).get(key) or key
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return f"{template} {params}"
