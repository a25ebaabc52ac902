"""The report of a run: `report.json` for machines (scenario, clusters, the scenario's numbers, time series) and
`report.html` for people. Must not import paho.
"""

from __future__ import annotations

import json
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from sim import timeline
from sim.fleet import Fleet
from sim.options import SimOptions
from sim.shardproc import ShardProc


class Finished(Protocol):
    """What the report needs from a finished run (the controller)."""

    opts: SimOptions
    fleet: Fleet
    shards: list[ShardProc]
    marks: list[tuple[str, float]]
    t_start: float
    url: str


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def build(run: Finished, result: dict[str, Any]) -> dict[str, Any]:
    o = run.opts
    series = timeline.merge([s.ticks for s in run.shards], run.t_start)
    last = [s.last_tick() for s in run.shards]
    connects = sum(t.get("connects", 0) for t in last)
    return {
        "scenario": o.scenario, "clusters": o.clusters, "communes": len(run.fleet.communes), "seed": o.seed,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "broker": {"url": run.url, "embedded": o.embedded},
        "shards": [_shard(s) for s in run.shards],
        "settings": o.models.as_dict(),
        "fakes": {"player": "simulated: started after start_delay_s, files end after a log-normal duration "
                            "(play_median_s, play_sigma), streams play until stopped",
                  "preparer": "audio already cached: prepared at once", "relays": "agent.fakes.relays"},
        "histograms": f"HdrHistogram (hdrhistogram {_version('hdrhistogram')}, 3 significant digits, microseconds)",
        "marks": [{"label": label, "t": round(t - run.t_start, 3)} for label, t in run.marks],
        "totals": {"connects": connects, "reconnects": max(0, connects - o.clusters),
                   "drops": sum(t.get("downs", 0) for t in last),
                   "sent": _sum_kinds(t.get("out", {}) for t in last), "received": sum(t.get("in", 0) for t in last),
                   "plays": _sum_kinds(t.get("plays", {}) for t in last),
                   "backlog_peak": sum(t.get("backlog_peak", 0) for t in last),
                   "shard_threads_max": max((t.get("threads", 0) for t in last), default=0)},
        "timeseries": series,
        **result,
    }


def _shard(s: ShardProc) -> dict[str, Any]:
    r = s.ready
    return {"shard": s.spec.shard, "units": s.spec.count, "first_index": s.spec.first,
            "source_addresses": list(s.spec.addresses), "pid": r.get("pid"), "build_s": r.get("build_s"),
            "threads": r.get("threads"), "rss_mib_after_build": round(r.get("rss_kib", 0) / 1024, 1)}


def _sum_kinds(dicts: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def write(directory: Path, report: dict[str, Any], lang: str = "en") -> tuple[Path, Path]:
    from sim import report_html

    directory.mkdir(parents=True, exist_ok=True)
    json_path, html_path = directory / "report.json", directory / "report.html"
    json_path.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    html_path.write_text(report_html.page(report, lang), encoding="utf-8")
    return json_path, html_path
