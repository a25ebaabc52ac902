"""The Pi's architecture, measured (a benchmark, not a CI test): the booted-unit flow on arm64. An arm64 Debian 12 card
with Raspberry Pi OS's layout (tests/image/base.py: extracted on the host, configured inside qemu-system-aarch64,
cached) is flashed with flash.sh (a provisioned bundle, the aarch64 wheelhouse, libVLC and espeak-ng as .debs) and
booted on QEMU's virt board (TCG, `-cpu max`, 2 vCPUs, 1 GiB) against a Mosquitto on the host's loopback.

    PYTHONPATH=$PWD .venv/bin/python -m tests.image.arm64_bench [--work DIR] [--settle-s 60]

It prints, as JSON: the base image's build (0 when cached), flash.sh, the first boot (power on to its reboot) and
its install steps from the unit's journal, boot-to-online (power on to the unit's retained status online=true on
the host's broker), a signed ping's round trip, and the idle agent's memory read from /proc inside the guest.
Needs qemu-system-aarch64 (Debian: qemu-system-arm) besides what the booted-unit test needs.

Test helper: imports agent only through province and the tests' helpers; drives QEMU, flash.sh and a broker.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

from province import broker as broker_tool
from province import keys as key_tool
from province.console import Console
from province.keys import load_signing
from province.localnet import free_port
from tests.conftest import Broker
from tests.e2e.link_helpers import UnitWatch
from tests.image.base import BOOT_OFFSET, base_image
from tests.image.card import GuestUnit, agent_memory, provision_and_flash
from tests.image.guest import Machine

DEVICE = "arm64-unit-1"
FIRST_BOOT_S = 5400.0  # TCG emulating arm64 on two shared x86 cores: every instruction is translated
BOOT_S = 1200.0
# The first boot's own log lines (agent/systemd/firstrun.sh) that start each of its steps.
STEPS = {"start": "first boot of a Loa unit starts", "debian_packages_done": "Debian packages ready",
         "venv_done": "Loa installed", "done": "first boot done"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", help="a folder to keep (card, console logs); a temporary one by default")
    p.add_argument("--settle-s", type=float, default=60, help="idle time after the ping before memory is read")
    args = p.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="loa-arm64-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {"work": str(work)}
    try:
        measure(work, args.settle_s, results)
    finally:
        print(json.dumps(results, indent=2))


def measure(work: Path, settle_s: float, results: dict[str, object]) -> None:
    started = time.monotonic()
    base = base_image("arm64")
    results["base_image_s"] = round(time.monotonic() - started)
    key_tool.init(work / "keys")
    broker = Broker(work / "broker", free_port())
    broker_tool.init(broker.dir, broker.port)
    broker.start()
    try:
        started = time.monotonic()
        card = provision_and_flash(work, base, "arm64", DEVICE, work / "keys" / "trust.jwks", broker.port, broker.dir)
        results["flash_s"] = round(time.monotonic() - started)
        machine = Machine(card.disk, BOOT_OFFSET, work, arch="arm64")
        try:
            boot_and_measure(machine, broker, work, settle_s, results)
        finally:
            machine.kill()
    finally:
        broker.stop()


def boot_and_measure(machine: Machine, broker: Broker, work: Path, settle_s: float, results: dict[str, object]) -> None:
    started = time.monotonic()
    machine.start()
    if machine.wait_exit(FIRST_BOOT_S) is None:
        raise RuntimeError(f"the first boot did not end in {FIRST_BOOT_S} s:\n{machine.console()}")
    results["first_boot_s"] = round(time.monotonic() - started)
    console = Console(broker.console_access())
    try:
        watch = UnitWatch(console, GuestUnit(DEVICE, machine))  # type: ignore[arg-type]  # it reads only these two
        started = time.monotonic()
        machine.start()
        watch.wait_online(BOOT_S)
        results["boot_to_online_s"] = round(time.monotonic() - started)
        results["install"] = watch.last_status().get("install")
        ping(watch, work, results)
        results["first_boot_steps_s"] = first_boot_steps(machine)
        time.sleep(settle_s)
        results["idle_agent"] = agent_memory(machine)
        results["guest"] = machine.run("uname -m; python3 --version").out.split()
    finally:
        console.close()


def ping(watch: UnitWatch, work: Path, results: dict[str, object]) -> None:
    started = time.monotonic()
    jti = watch.send(load_signing(work / "keys" / "signing.jwk"), "ping", {})
    results["ping_acks"] = watch.wait_acks(jti, {"finished", "rejected", "failed"}, 120)
    results["ping_s"] = round(time.monotonic() - started, 1)


def first_boot_steps(machine: Machine) -> dict[str, float]:
    """Seconds from the first boot's start to the end of each step, from its journal (boot -1, monotonic stamps)."""
    log = machine.run("journalctl -b -1 -t loa-firstrun --no-pager -o short-monotonic", 120).out
    stamps: dict[str, float] = {}
    for name, text in STEPS.items():
        line = next((line for line in log.splitlines() if text in line), "")
        found = re.match(r"\[\s*([0-9.]+)\]", line)
        if found:
            stamps[name] = float(found.group(1))
    start = stamps.pop("start", 0.0)
    return {"kernel_to_first_boot_script": round(start, 1), **{k: round(v - start, 1) for k, v in stamps.items()}}


if __name__ == "__main__":
    main()
