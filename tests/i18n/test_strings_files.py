"""Every strings folder (agent, tools, sim): each key exists in both languages with the same parameters, and every
text is NFC-normalised (a decomposed "ệ" looks the same on screen but breaks search, sorting and comparisons)."""

from __future__ import annotations

import re
import string
import unicodedata
from pathlib import Path

import pytest

from agent.i18n import LANGUAGES, strings

REPO = Path(__file__).resolve().parents[2]
PACKAGES = sorted(".".join(p.parent.relative_to(REPO).parts) for p in REPO.glob("*/**/strings/vi.toml")
                  if ".venv" not in p.parts)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_scan_finds_every_strings_folder() -> None:
    assert {"agent.strings", "tools.strings", "sim.strings"} <= set(PACKAGES), PACKAGES


@pytest.mark.parametrize("package", PACKAGES)
def test_every_key_has_both_languages_with_the_same_parameters(package: str) -> None:
    texts = {lang: strings(lang, package) for lang in LANGUAGES}
    vi, en = texts["vi"], texts["en"]
    assert sorted(set(en) - set(vi)) == [], f"{package}: only in en.toml"
    assert sorted(set(vi) - set(en)) == [], f"{package}: only in vi.toml"
    for key in en:
        assert placeholders(en[key]) == placeholders(vi[key]), f"{package}.{key}: {en[key]!r} / {vi[key]!r}"
        assert vi[key].strip() and en[key].strip(), f"{package}.{key} is empty"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_text_is_nfc(package: str) -> None:
    for lang in LANGUAGES:
        raw = (REPO / package.replace(".", "/") / f"{lang}.toml").read_text(encoding="utf-8")
        bad = [line for line in raw.splitlines() if unicodedata.normalize("NFC", line) != line]
        assert bad == [], f"{package}/{lang}.toml has lines not in NFC: {bad[:3]}"


NATIVE = {"dash_lang_en"}  # a language's name written in that language, so that its readers find it


def test_vietnamese_texts_are_vietnamese() -> None:
    """A vi text equal to its English text is an untranslated string, unless it is only technical tokens."""
    for package in PACKAGES:
        vi, en = strings("vi", package), strings("en", package)
        same = [k for k in en if k not in NATIVE and vi[k] == en[k] and re.search(r"[a-z]{4,}", re.sub(r"\S*[./{]\S*", "", en[k]))]
        assert same == [], f"{package}: untranslated {same[:10]}"
