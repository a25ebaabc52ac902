"""One simulation from options to report: set up, run the scenario with a live progress line, tear down in
reverse, write report.json and report.html. Must not import paho.
"""

from __future__ import annotations

from typing import Any

from sim import report, scenarios
from sim.controller import Controller
from sim.options import SimOptions, check
from sim.progress import Progress


def simulate(opts: SimOptions, lang: str = "en") -> dict[str, Any]:
    opts = scenarios.prepare(opts)
    check(opts)
    ctl = Controller(opts)
    progress = Progress(ctl.status, opts.clusters, opts.progress)
    with ctl.stack:
        ctl.setup()
        progress.start()
        try:
            result = scenarios.SCENARIOS[opts.scenario](ctl)
        finally:
            progress.stop()
    rep = report.build(ctl, result)
    report.write(opts.report, rep, lang)
    return rep
