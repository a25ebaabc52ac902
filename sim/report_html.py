"""The report page: one self-contained HTML file (figures as embedded PNG, no external resources), key numbers
first, then the figures and the settings. Headings come from sim/strings. Must not import paho or the agent.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

from agent import i18n
from sim import plots

STYLE = """body{font-family:system-ui,sans-serif;max-width:1060px;margin:2em auto;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f4f4f4}img{max-width:100%;border:1px solid #eee;margin:.3em 0 1.2em}.ok{color:#1b7837}
.bad{color:#b2182b}pre{background:#f7f7f7;padding:.6em;overflow:auto;font-size:.85em}"""


def page(report: dict[str, Any], lang: str = "en") -> str:
    t: Callable[[str], str] = lambda key: i18n.render(lang, key, {}, package="sim.strings")
    body = [f"<h1>{html.escape(t('title'))}: {html.escape(report['scenario'])}</h1>",
            (f"<p>{report['clusters']} {html.escape(t('clusters'))}, {report['communes']} {html.escape(t('communes'))}, "
             f"{len(report['shards'])} {html.escape(t('shards'))}, seed {report['seed']}, {report['generated_at']}</p>"),
            _table(t("key_numbers"), key_numbers(report, t))]
    body += [_figure(title, png) for title, png in figures(report, t)]
    body.append(_table(t("settings"), [(k, v) for k, v in report["settings"].items()]))
    body.append(f"<h2>{html.escape(t('shards'))}</h2><pre>{html.escape(json.dumps(report['shards'], indent=1))}</pre>")
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(t("title"))}</title>'
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>")


def figures(report: dict[str, Any], t: Callable[[str], str]) -> list[tuple[str, str]]:
    out = [(t("fig_online"), plots.online(report, t))]
    if "connect" in report:
        out.append((t("fig_connect"), plots.connect_curve(report, t)))
    if "emergency" in report:
        for state in ("started", "accepted"):
            out.append((t(f"fig_latency_{state}"), plots.latency(report["emergency"][state], t(f"ack_{state}"), t)))
    if "storm" in report:
        out.append((t("fig_storm"), plots.storm(report, t)))
    if "morning" in report:
        out.append((t("fig_morning"), plots.morning(report, t)))
    out += [(t("fig_rates"), plots.rates(report, t)), (t("fig_reconnects"), plots.reconnects(report, t)),
            (t("fig_backlog"), plots.backlog(report, t))]
    return out


def key_numbers(r: dict[str, Any], t: Callable[[str], str]) -> list[tuple[str, Any]]:
    c = r.get("connect", {})
    rows: list[tuple[str, Any]] = [(t("connected"), f"{c.get('connected')} / {r['clusters']}"),
                                   (t("all_connected_s"), c.get("all_connected_s")),
                                   (t("connected_within_10s"), c.get("connected_within_10s"))]
    if "started_acks" in r:
        rows += [(t("ack_started"), f"{r['started_acks']} / {r['clusters']}"),
                 (t("latency_started"), _percentiles(r["started_latency_ms"])),
                 (t("ack_accepted"), f"{r['accepted_acks']} / {r['clusters']}"),
                 (t("latency_accepted"), _percentiles(r["accepted_latency_ms"]))]
    for mode, phase in r.get("storm", {}).items():
        rows.append((f"storm {mode}", (f"{phase['back_within_30s_pct']} % back within 30 s; "
                                        f"99 % after {phase['time_to_99pct_s']} s; "
                                        f"peak {phase['peak_connects_per_s']} connects/s")))
    for section in ("steady", "flap", "morning", "clocks"):
        if section in r:
            rows += [(f"{section}: {k}", v) for k, v in r[section].items() if not isinstance(v, (list, dict))]
    for group, g in r.get("clocks", {}).get("groups", {}).items():
        rows.append((f"clocks {group}", (f"{g['units']} units; trusted {g['reached_trusted_time']} "
                                         f"(p50 {g['time_to_trusted_ms'].get('p50', '-')} ms); wrong-time plays "
                                         f"{g['wrong_time_plays']}; held {g['held_programme']}; emergency started "
                                         f"{g['emergency_started']}")))
    rows += [(t("reconnects"), r["totals"]["reconnects"]), (t("backlog_peak"), r["totals"]["backlog_peak"])]
    return rows


def _percentiles(s: dict[str, Any]) -> str:
    return ", ".join(f"{k} {s[k]} ms" for k in ("p50", "p95", "p99", "max") if k in s)


def _table(title: str, rows: list[tuple[str, Any]]) -> str:
    cells = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<h2>{html.escape(title)}</h2><table>{cells}</table>"


def _figure(title: str, png: str) -> str:
    return f'<h2>{html.escape(title)}</h2><img alt="{html.escape(title)}" src="data:image/png;base64,{png}">'
