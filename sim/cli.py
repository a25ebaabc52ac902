"""`loa sim`: the command line of the fleet simulator. Registers the `sim` subcommand on the `loa` parser
(tools/cli.py calls add_parser) and hands over to sim.run. Must hold no decisions.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from agent import i18n
from sim import extra
from sim.models import Models
from sim.options import PROVINCE_CLUSTERS, SCENARIOS, SimOptions


def say(args: argparse.Namespace, key: str, **params: Any) -> None:
    print(i18n.render(getattr(args, "lang", "en"), key, params, package="sim.strings"), flush=True)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("sim", help="simulate a fleet of clusters on real MQTT and write a report")
    p.add_argument("--clusters", type=int, default=PROVINCE_CLUSTERS)
    p.add_argument("--scenario", choices=SCENARIOS, default="steady")
    p.add_argument("--report", default="sim-report", help="folder for report.json and report.html")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--duration-s", type=float, default=0.0, help="the scenario's main duration (0: its default)")
    p.add_argument("--shards", type=int, default=0, help="shard processes (0: automatic)")
    p.add_argument("--addresses", type=int, default=4, help="127.0.0.x source addresses per shard")
    p.add_argument("--storm-down-s", type=float, default=10.0)
    p.add_argument("--no-progress", action="store_true")
    _broker_args(p)
    _model_args(p)
    p.set_defaults(fn=cmd_sim)


def _broker_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("another broker (default: an embedded Mosquitto)")
    g.add_argument("--broker", default="", help="mqtt://HOST:PORT or mqtts://HOST:PORT")
    g.add_argument("--username", default="", help="the identity every simulated unit uses there")
    g.add_argument("--password-file", default="")
    g.add_argument("--console-username", default="", help="identity of the console and the observer")
    g.add_argument("--console-password-file", default="")
    g.add_argument("--ca", default="", help="CA certificate to pin for mqtts://")
    g.add_argument("--key", default="", help="signing.jwk the console signs with")
    g.add_argument("--trust", default="", help="trust.jwks the simulated units trust")
    g.add_argument("--no-console", action="store_true", help="the real server sends the commands")


def _model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("behaviour of the simulated units")
    d = Models()
    g.add_argument("--heartbeat-s", type=int, default=d.heartbeat_s)
    g.add_argument("--ramp-per-s", type=float, default=d.ramp_per_s, help="units powering on per second")
    g.add_argument("--warmup-s", type=float, default=d.warmup_s)
    g.add_argument("--reconnect-max-s", type=float, default=d.reconnect_max_s)
    g.add_argument("--naive-backoff", action="store_true", help="no jitter (only to show the difference)")
    g.add_argument("--minutes-off-s", type=float, default=d.minutes_off_s,
                   help="clocks: wrong clocks are off by up to this many seconds (plus years, or from 1970)")


def options(args: argparse.Namespace) -> SimOptions:
    models = dataclasses.replace(Models(), heartbeat_s=args.heartbeat_s, ramp_per_s=args.ramp_per_s,
                                 warmup_s=args.warmup_s, reconnect_max_s=args.reconnect_max_s,
                                 jitter=not args.naive_backoff, minutes_off_s=args.minutes_off_s)
    return SimOptions(
        report=Path(args.report), clusters=args.clusters, scenario=args.scenario, broker=args.broker,
        username=args.username, password_file=args.password_file, console_username=args.console_username,
        console_password_file=args.console_password_file, ca=args.ca, key=args.key, trust=args.trust,
        no_console=args.no_console, shards=args.shards, addresses=args.addresses, seed=args.seed,
        duration_s=args.duration_s, storm_down_s=args.storm_down_s, progress=not args.no_progress, models=models)


def cmd_sim(args: argparse.Namespace) -> int:
    if missing := extra.missing():
        say(args, "sim_needs_extra", missing=", ".join(missing))
        return 2
    from sim.run import simulate

    opts = options(args)
    say(args, "sim_starting", clusters=opts.clusters, scenario=opts.scenario, shards=opts.shard_count(),
        report=opts.report)
    rep = simulate(opts, getattr(args, "lang", "en"))
    summarise(args, rep)
    say(args, "sim_done", json=opts.report / "report.json", html=opts.report / "report.html")
    return 0


def summarise(args: argparse.Namespace, r: dict[str, Any]) -> None:
    c = r.get("connect", {})
    say(args, "sim_connect", connected=c.get("connected"), clusters=r["clusters"], all_s=c.get("all_connected_s"))
    if "started_acks" in r:
        lat = r["started_latency_ms"]
        say(args, "sim_emergency", started=r["started_acks"], clusters=r["clusters"], p50=lat.get("p50"),
            p95=lat.get("p95"), p99=lat.get("p99"), max=lat.get("max"))
    for mode, phase in r.get("storm", {}).items():
        say(args, "sim_storm", mode=mode, pct=phase["back_within_30s_pct"], peak=phase["peak_connects_per_s"])
    if "steady" in r:
        say(args, "sim_steady", cpu=r["steady"]["sim_cpu_pct_of_one_core"], window=r["steady"]["window_s"])
