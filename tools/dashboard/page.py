"""The dashboard's HTML in the reader's language: the login page and the page shell whose script draws the fleet.
Every word comes from the strings files (tools/strings); the script gets its words in a JSON data block, so it needs
no inline code (the page's Content-Security-Policy allows none).
Must not import the web server, the MQTT client or the agent's runtime.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from string import Template

from agent import i18n

STRINGS = "tools.strings"
SCRIPT_PREFIXES = ("dash_", "playlog_priority_", "playlog_result_")


def static(name: str) -> bytes:
    return resources.files("tools.dashboard").joinpath(name).read_bytes()


def text(lang: str, key: str, **params: object) -> str:
    return i18n.render(lang, key, params, package=STRINGS)


def language(asked: str, saved: str, accept: str, default: str) -> str:
    """?lang= first, then the saved choice (cookie), then the browser's Accept-Language, then the default."""
    for choice in (asked, saved):
        if choice in i18n.LANGUAGES:
            return choice
    return accepted(accept) or default


def accepted(header: str) -> str:
    """The first of our languages in an Accept-Language header, by its weights ("vi-VN,vi;q=0.9,en;q=0.8")."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:20]):
        tag, _, weight = part.strip().partition(";q=")
        try:
            q = float(weight) if weight else 1.0
        except ValueError:
            continue
        primary = tag.split("-")[0].strip().lower()
        if primary in i18n.LANGUAGES and q > 0:
            ranked.append((-q, i, primary))
    return min(ranked)[2] if ranked else ""


def login_page(lang: str, message: str = "") -> str:
    return _fill("login.html", lang, message=html.escape(message))


def dashboard_page(lang: str, csrf: str) -> str:
    words = {k: v for k, v in i18n.strings(lang, STRINGS).items() if k.startswith(SCRIPT_PREFIXES)}
    data = json.dumps({"lang": lang, "words": words}, ensure_ascii=False).replace("<", "\\u003c")
    return _fill("dashboard.html", lang, csrf=html.escape(csrf), words_json=data)


def _fill(name: str, lang: str, **values: str) -> str:
    """The template with every `$dash_...` word in `lang` (escaped) and the given values (already safe)."""
    words = {k: html.escape(v) for k, v in i18n.strings(lang, STRINGS).items() if k.startswith("dash_")}
    return Template(static(name).decode("utf-8")).safe_substitute(words, lang=lang, **values)
