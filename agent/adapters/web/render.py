"""HTML of the technician's pages (login and status), in Vietnamese or English from agent/strings, drawn from the
view the runtime publishes. Every value is escaped; the pages carry no script and load only /static/status.css.

Must not import the core's desks, the runtime or adapters: it only turns a view (plain dicts) into text.
"""

from __future__ import annotations

import html
from datetime import datetime, tzinfo
from importlib import resources
from string import Template
from typing import Any

from agent import i18n

LOG_LINES, PLAY_LOGS = 30, 10


def page(lang: str, title: str, body: str, refresh: bool = False) -> str:
    text = resources.files("agent.adapters.web").joinpath("page.html").read_text(encoding="utf-8")
    meta = '<meta http-equiv="refresh" content="5">' if refresh else ""
    return Template(text).substitute(lang=lang, title=html.escape(title), refresh=meta, body=body)


def t(lang: str, key: str, **params: Any) -> str:
    """A label, escaped for HTML."""
    return html.escape(i18n.render(lang, key, params))


def login_page(lang: str, dev: str, message: str = "") -> str:
    note = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    body = (f'<main class="login"><h1>{t(lang, "web_login_title", dev=dev)}</h1>{note}'
            f'<form method="post" action="/login"><label>{t(lang, "web_password")} '
            f'<input type="password" name="password" id="password" autocomplete="current-password" autofocus required>'
            f'</label><button type="submit" id="login">{t(lang, "web_login_button")}</button></form>'
            f'<p class="hint">{t(lang, "web_login_hint")}</p>{_languages()}</main>')
    return page(lang, i18n.render(lang, "web_login_title", {"dev": dev}), body)


def status_page(lang: str, dev: str, view: dict[str, Any], tz: tzinfo, csrf: str, flash: str = "") -> str:
    parts = [
        f'<header><h1>{t(lang, "web_title", dev=dev)}</h1>{_logout(lang, csrf)}</header>',
        f'<p class="flash" id="flash" role="status">{html.escape(flash)}</p>' if flash else "",
        _unit(lang, view, tz), _sound(lang, view, csrf), _board(lang, view),
        _logs(lang, view, tz), _playlogs(lang, view, tz),
        f'<footer>{t(lang, "web_refresh_note")} {_languages()}</footer>',
    ]
    return page(lang, i18n.render(lang, "web_title", {"dev": dev}), "".join(parts), refresh=True)


def _unit(lang: str, view: dict[str, Any], tz: tzinfo) -> str:
    st = view.get("status", {})
    rows = [
        ("web_role", t(lang, f"web_role_{st.get('role', 'cluster')}")),
        ("web_link", t(lang, "web_link_up" if view.get("link_up") else "web_link_down")),
        ("web_clock", t(lang, "web_yes" if st.get("clock_synced") else "web_no")),
        ("web_version", html.escape(str(st.get("ver", "")))),
        ("web_uptime", _time(st.get("since_ts"), tz)),
        ("web_volume", f'{int(st.get("volume_pct", 0))}%'),
        ("web_outbox", str(int(view.get("outbox", 0)))),
        ("web_errors", html.escape(", ".join(st.get("errors", []))) or t(lang, "web_none")),
    ]
    cells = "".join(f"<tr><th>{t(lang, k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<section id="unit"><h2>{t(lang, "web_unit")}</h2><table>{cells}</table></section>'


def _sound(lang: str, view: dict[str, Any], csrf: str) -> str:
    st = view.get("status", {})
    playing = st.get("playing")
    now = html.escape(playing.get("title") or playing.get("jti") or "") if playing else t(lang, "web_none")
    relays = "".join(_relay(lang, int(z), on, csrf) for z, on in st.get("relays", {}).items())
    return (f'<section id="sound"><h2>{t(lang, "web_sound")}</h2>'
            f'<p>{t(lang, "web_playing")}: <b id="playing">{now}</b> ({int(st.get("queued", 0))} {t(lang, "web_queued")})</p>'
            f'{_action(csrf, "test_tone", t(lang, "web_test_tone"))}'
            f'<h3>{t(lang, "web_relays")}</h3><table>{relays}</table></section>')


def _relay(lang: str, zone: int, on: bool, csrf: str) -> str:
    state = t(lang, "web_on" if on else "web_off")
    button = _action(csrf, "relay_test", t(lang, "web_relay_test"), zone)
    return f'<tr><th>{t(lang, "web_zone", zone=zone)}</th><td class="{"on" if on else "off"}">{state}</td><td>{button}</td></tr>'


def _action(csrf: str, action: str, label: str, zone: int = 0) -> str:
    ident = f"{action}-{zone}" if zone else action
    return (f'<form method="post" action="/action" class="action"><input type="hidden" name="csrf" value="{html.escape(csrf)}">'
            f'<input type="hidden" name="action" value="{action}"><input type="hidden" name="zone" value="{zone}">'
            f'<button type="submit" id="{ident}">{label}</button></form>')


def _board(lang: str, view: dict[str, Any]) -> str:
    board = view.get("board")
    if board is None:
        return ""
    shown = board.get("showing")
    what = t(lang, "web_blank") if shown is None else \
        f'{html.escape(shown.get("title") or "")} <q>{html.escape(_short(shown.get("text", "")))}</q> ({_word(lang, "web_priority_", shown["priority"])})'
    return f'<section id="board"><h2>{t(lang, "web_board")}</h2><p>{t(lang, "web_showing")}: {what}</p></section>'


def _word(lang: str, prefix: str, value: str) -> str:
    """A level, result or priority in the reader's language; a value the strings do not know is shown as it is."""
    return html.escape(i18n.strings(lang).get(prefix + value, value))


def _logs(lang: str, view: dict[str, Any], tz: tzinfo) -> str:
    rows = "".join(
        f'<tr class="{html.escape(e.get("level", "info"))}"><td>{_time(e.get("ts"), tz)}</td>'
        f'<td>{_word(lang, "web_level_", e.get("level", ""))}</td><td>{html.escape(i18n.render(lang, e["key"], e.get("params", {})))}</td></tr>'
        for e in reversed(view.get("logs", [])[-LOG_LINES:]))
    head = f'<tr><th>{t(lang, "web_col_time")}</th><th>{t(lang, "web_col_level")}</th><th>{t(lang, "web_col_message")}</th></tr>'
    return f'<section id="logs"><h2>{t(lang, "web_logs")}</h2><table>{head}{rows}</table></section>'


def _playlogs(lang: str, view: dict[str, Any], tz: tzinfo) -> str:
    rows = "".join(
        f'<tr><td>{_time(p.get("ended_ts"), tz)}</td><td>{html.escape(p.get("title") or p.get("jti") or "")}</td>'
        f'<td>{_word(lang, "web_result_", p.get("result", ""))}</td></tr>' for p in reversed(view.get("playlogs", [])[-PLAY_LOGS:]))
    head = f'<tr><th>{t(lang, "web_col_time")}</th><th>{t(lang, "web_col_title")}</th><th>{t(lang, "web_col_result")}</th></tr>'
    return f'<section id="playlogs"><h2>{t(lang, "web_playlogs")}</h2><table>{head}{rows}</table></section>'


def _logout(lang: str, csrf: str) -> str:
    return (f'<form method="post" action="/logout" class="logout"><input type="hidden" name="csrf" value="{html.escape(csrf)}">'
            f'<button type="submit" id="logout">{t(lang, "web_logout")}</button></form>')


def _languages() -> str:
    return '<nav class="lang"><a href="?lang=vi" hreflang="vi">Tiếng Việt</a> · <a href="?lang=en" hreflang="en">English</a></nav>'


def _time(ms: Any, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).strftime("%d/%m %H:%M:%S") if isinstance(ms, int) else ""


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
