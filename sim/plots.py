"""The report's figures (matplotlib, Agg), each drawn from the report dict alone and returned as a base64 PNG.

Must not import paho or the agent.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

from sim import extra

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes
except ImportError as exc:
    raise extra.error(exc) from exc

Label = Callable[[str], str]
WIDE = (10, 3.4)
COLOURS = {"jitter": "#1b7837", "naive": "#b2182b"}


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _marks(ax: Axes, report: dict[str, Any]) -> None:
    for mark in report.get("marks", []):
        if mark["t"] >= 0:
            ax.axvline(mark["t"], color="#888", lw=0.8, ls="--")
            ax.annotate(mark["label"], (mark["t"], 1), xycoords=("data", "axes fraction"), rotation=90,
                        fontsize=7, va="top", ha="right", color="#555")


def _series_axes(report: dict[str, Any], title: str, ylabel: str, x_label: str) -> tuple[Any, Axes]:
    fig, ax = plt.subplots(figsize=WIDE)
    ax.set_title(title)
    ax.set_xlabel(x_label)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    _marks(ax, report)
    return fig, ax


def online(report: dict[str, Any], t: Label) -> str:
    s = report["timeseries"]
    fig, ax = _series_axes(report, t("fig_online"), t("units"), t("seconds_since_power_on"))
    ax.plot(s["t"], s["online"], color="#2166ac")
    ax.axhline(report["clusters"], color="#999", lw=0.8)
    ax.set_ylim(0, report["clusters"] * 1.05)
    return _png(fig)


def connect_curve(report: dict[str, Any], t: Label) -> str:
    c = report["connect"]
    fig, ax = plt.subplots(figsize=WIDE)
    ax.set_title(t("fig_connect"))
    ax.set_xlabel(t("seconds_since_power_on"))
    ax.set_ylabel(t("units_connected"))
    if c["curve"]:
        xs, ys = zip(*c["curve"])
        ax.plot(xs, ys, color="#2166ac")
    ax.axhline(report["clusters"], color="#999", lw=0.8)
    ax.axvline(10, color="#b2182b", lw=0.8, ls=":")
    ax2 = ax.twinx()
    if c["rate_curve"]:
        xs, ys = zip(*c["rate_curve"])
        ax2.step(xs, ys, where="post", color="#f4a582", alpha=0.8)
    ax2.set_ylabel(t("connects_per_s"))
    ax.grid(alpha=0.3)
    return _png(fig)


def latency(block: dict[str, Any], title: str, t: Label) -> str:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=WIDE)
    h = block["histogram"]
    if h["counts"]:
        ax1.stairs(h["counts"], h["edges"], fill=True, color="#92c5de")
    ax1.set_title(f"{title}: {t('histogram')}")
    ax1.set_xlabel("ms")
    ax1.set_ylabel(t("units"))
    if block["cdf"]:
        xs, ys = zip(*block["cdf"])
        ax2.plot(xs, ys, color="#2166ac")
    summary = block["summary"]
    for key, colour in (("p50", "#1b7837"), ("p95", "#e08214"), ("p99", "#b2182b"), ("max", "#40004b")):
        if key in summary:
            ax2.axvline(summary[key], color=colour, lw=0.9, ls="--", label=f"{key} {summary[key]:g} ms")
    ax2.set_title(f"{title}: CDF")
    ax2.set_xlabel("ms")
    ax2.set_ylim(0, 1.02)
    ax2.legend(fontsize=8, loc="lower right")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    return _png(fig)


def rates(report: dict[str, Any], t: Label) -> str:
    s = report["timeseries"]
    fig, ax = _series_axes(report, t("fig_rates"), t("messages_per_s"), t("seconds_since_power_on"))
    for key in sorted(k for k in s if k.startswith("out_") and k != "out_per_s"):
        ax.plot(s["t"], s[key], lw=1, label=t("sent") + " " + key[4:-6])
    ax.plot(s["t"], s["in_per_s"], lw=1.5, color="k", label=t("received"))
    ax.legend(fontsize=7, ncol=4, loc="upper right")
    return _png(fig)


def reconnects(report: dict[str, Any], t: Label) -> str:
    s = report["timeseries"]
    fig, ax = _series_axes(report, t("fig_reconnects"), t("per_second"), t("seconds_since_power_on"))
    ax.plot(s["t"], s["connects_per_s"], color="#1b7837", label=t("connects"))
    ax.plot(s["t"], s["attempts_per_s"], color="#999", lw=0.8, label=t("attempts"))
    ax.plot(s["t"], s["drops_per_s"], color="#b2182b", label=t("drops"))
    ax.legend(fontsize=8)
    return _png(fig)


def backlog(report: dict[str, Any], t: Label) -> str:
    s = report["timeseries"]
    fig, ax = _series_axes(report, t("fig_backlog"), t("reports_waiting"), t("seconds_since_power_on"))
    ax.fill_between(s["t"], s["backlog"], color="#fdb863", step="post")
    return _png(fig)


def storm(report: dict[str, Any], t: Label) -> str:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=WIDE)
    for mode, phase in report["storm"].items():
        if phase["connects_curve"]:
            xs, ys = zip(*phase["connects_curve"])
            ax1.step(xs, ys, where="post", color=COLOURS.get(mode), label=f"{mode}: {t('connects')}")
        if phase["back_curve"]:
            xs, ys = zip(*phase["back_curve"])
            ax2.plot(xs, ys, color=COLOURS.get(mode), label=mode)
        ax1.axvline(phase["broker_down_s"], color="#888", ls="--", lw=0.8)
        ax2.axvline(phase["broker_down_s"] + 30, color="#888", ls=":", lw=0.8)
    ax1.set_title(t("fig_storm_rate"))
    ax1.set_xlabel(t("seconds_since_broker_down"))
    ax1.set_ylabel(t("connects_per_s"))
    ax2.set_title(t("fig_storm_back"))
    ax2.set_xlabel(t("seconds_since_broker_down"))
    ax2.set_ylabel(t("units"))
    for ax in (ax1, ax2):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return _png(fig)


def morning(report: dict[str, Any], t: Label) -> str:
    m = report["morning"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=WIDE)
    h = m["start_offset_histogram"]
    if h["counts"]:
        ax1.stairs(h["counts"], h["edges"], fill=True, color="#92c5de")
    ax1.set_title(t("fig_morning_start"))
    ax1.set_xlabel(t("ms_after_0530"))
    if m["playlog_curve"]:
        xs, ys = zip(*m["playlog_curve"])
        ax2.plot(xs, ys, color="#2166ac")
    ax2.set_title(t("fig_morning_playlogs"))
    ax2.set_xlabel(t("seconds_after_0530"))
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    return _png(fig)
