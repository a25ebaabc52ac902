"""A unit for real, from outside: a Debian 12 card image with Raspberry Pi OS's layout (tests/image/base.py, cached)
is flashed with flash.sh (bundle from `loa provision --hw fake`, a wheelhouse, libVLC and espeak-ng as .debs, the
first-boot hook), booted in QEMU (TCG) until its first boot installs everything and reboots, then booted again.
The guest reaches the test's Mosquitto on the host's loopback as 10.0.2.2; the test reads the guest's systemd and
journal through qemu-guest-agent, and the card's FAT partition with mtools after power-off.

The tests run in this order on one booted unit (each later one relies on the state the earlier ones leave).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from joserfc.jwk import OKPKey

from province.console import Console
from province.keys import load_signing, sign_command
from tests.conftest import Broker
from tests.e2e.link_helpers import UnitWatch
from tests.image.base import BOOT_OFFSET, base_image
from tests.image.card import Card, GuestUnit, agent_memory, provision_and_flash
from tests.image.guest import Machine, fat_list

# one xdist worker runs the whole module, in order, on its one booted unit (the others run the rest meanwhile)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("booted-unit")]

DEVICE = "qemu-unit-1"
FIRST_BOOT_S = 900.0  # first boot under TCG: 169 Debian packages and the wheelhouse on two shared cores
BOOT_S = 300.0
SECRET_FILES = ("mqtt.password", "status-page.hash")
IDLE_RSS_MIB = 45.0  # a Pi-class unit's budget for the idle agent, libVLC loaded with its plugin cache


def took(work: Path, what: str, since: float) -> None:
    """Phase durations, for the budget (printed with -s, kept in the test's folder)."""
    note(work, f"{what}: {time.monotonic() - since:.0f} s")


def note(work: Path, line: str) -> None:
    print(line)
    with (work / "timings.txt").open("a") as f:
        f.write(line + "\n")


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory, broker: Broker, keys: Path) -> Card:
    work = tmp_path_factory.mktemp("booted")
    started = time.monotonic()
    base = base_image("amd64")
    took(work, "base image (cached or built)", started)
    started = time.monotonic()
    card = provision_and_flash(work, base, "amd64", DEVICE, keys / "trust.jwks", broker.port, broker.dir)
    took(work, "provision and flash.sh", started)
    return card


@pytest.fixture(scope="module")
def machine(card: Card) -> Iterator[Machine]:
    m = Machine(card.disk, BOOT_OFFSET, card.work)
    try:
        assert "systemd.run=/boot/firmware/firstrun.sh" in m.cmdline()
        started = time.monotonic()
        m.start()
        # The first boot ends in a reboot, which ends QEMU (-no-reboot): the next start reads cmdline.txt anew.
        assert m.wait_exit(FIRST_BOOT_S) is not None, m.console()
        took(card.work, "first boot (installs, then reboots)", started)
        started = time.monotonic()
        m.start()
        assert m.wait_agent(BOOT_S), m.console()
        took(card.work, "second boot to the guest agent", started)
        yield m
    finally:
        m.kill()


@pytest.fixture(scope="module")
def watch(machine: Machine, broker: Broker) -> Iterator[UnitWatch]:
    console = Console(broker.console_access())
    w = UnitWatch(console, GuestUnit(DEVICE, machine))  # type: ignore[arg-type]  # UnitWatch reads only these two
    yield w
    console.close()


def show(machine: Machine, *props: str) -> dict[str, str]:
    out = machine.run("systemctl show loa-agent " + " ".join(f"-p {p}" for p in props)).out
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_first_boot_installs_the_unit_and_takes_its_hook_out(machine: Machine, card: Card):
    assert "systemd.run" not in machine.cmdline()
    assert machine.cmdline().startswith("console=ttyS0 root=LABEL=rootfs")
    outcome = machine.run("cat /var/lib/loa/firstboot.json").out
    assert '"result": "ok"' in outcome, outcome
    installed = machine.run("dpkg-query -W -f='${Package} ${Status}\\n' libvlc5 vlc-plugin-base espeak-ng").out
    assert installed.count("install ok installed") == 3, installed
    assert machine.run("test -s /usr/lib/x86_64-linux-gnu/vlc/plugins/plugins.dat").code == 0  # libVLC's cache
    assert machine.run("/opt/loa/venv/bin/loa --help").code == 0
    assert machine.run("systemctl is-enabled loa-agent").out.strip() == "enabled"
    journal = machine.run("journalctl -b -1 -t loa-firstrun --no-pager -o cat").out  # the first boot's own log
    assert "first boot of a Loa unit starts" in journal and "first boot done" in journal, journal[-2000:]


def test_the_unit_comes_online_and_obeys_a_signed_ping_and_a_relay_test(watch: UnitWatch, keys: Path, card: Card):
    started = time.monotonic()
    watch.wait_online(BOOT_S)
    took(card.work, "then online", started)
    assert watch.last_status()["install"]["result"] == "ok", watch.last_status()  # the first boot, as reported
    signing = load_signing(keys / "signing.jwk")
    ping = watch.send(signing, "ping", {})
    assert "finished" in watch.wait_acks(ping, {"finished", "rejected", "failed"}, 60), watch.acks(ping)
    relay = watch.send(signing, "relay", {"zone": 1, "on": True, "for_s": 2})
    assert "finished" in watch.wait_acks(relay, {"finished", "rejected", "failed"}, 60), watch.acks(relay)


def test_a_forged_command_is_refused_and_logged_as_a_warning(watch: UnitWatch, keys: Path, machine: Machine):
    good = load_signing(keys / "signing.jwk")
    assert good.kid is not None
    forger = OKPKey.generate_key("Ed25519", parameters={"kid": good.kid})  # the console's key id, another key
    token, jti = sign_command(forger, f"dev:{DEVICE}", "relay", {"zone": 1, "on": True, "for_s": 5})
    watch.publish_raw(token)
    assert watch.wait_acks(jti, {"finished", "rejected"}, 60) == ["rejected"], watch.acks(jti)
    assert watch.acks(jti)[0]["code"] == "bad_signature"
    warnings = machine.run("journalctl -u loa-agent -p warning --no-pager -o cat").out
    assert "bad_signature" in warnings, warnings


def test_key_files_are_0600_and_owned_by_loa(machine: Machine, card: Card):
    listing = machine.run("stat -c '%a %U %G %n' /var/lib/loa /var/lib/loa/*").out.splitlines()
    modes = {line.split()[3]: line.split()[:3] for line in listing}
    assert modes["/var/lib/loa"] == ["700", "loa", "loa"], listing
    for name in ("config.toml", "trust.jwks", *SECRET_FILES):
        assert modes[f"/var/lib/loa/{name}"] == ["600", "loa", "loa"], listing


def test_the_service_exposure_stays_low(machine: Machine):
    out = machine.run("systemd-analyze security loa-agent.service --no-pager", 120).out
    found = re.search(r"Overall exposure level for loa-agent\.service: ([0-9.]+)", out)
    assert found and float(found.group(1)) <= 2.0, out[-2000:]
    print(f"systemd-analyze security loa-agent: {found.group(1)}")


def test_the_service_stays_up_past_twice_its_start_timeout(machine: Machine):
    props = show(machine, "TimeoutStartUSec", "ActiveEnterTimestampMonotonic")
    timeout_s = _seconds(props["TimeoutStartUSec"])
    since_s = int(props["ActiveEnterTimestampMonotonic"]) / 1e6
    assert timeout_s > 0 and since_s > 0, props
    while (uptime := float(machine.run("cut -d' ' -f1 /proc/uptime").out)) < since_s + 2 * timeout_s + 5:
        time.sleep(min(10.0, since_s + 2 * timeout_s + 5 - uptime))
    state = show(machine, "ActiveState", "SubState", "NRestarts", "StatusText")
    assert (state["ActiveState"], state["NRestarts"]) == ("active", "0"), state
    assert state["StatusText"] == "online", state


def test_the_idle_agent_stays_within_its_memory_budget(machine: Machine, card: Card):
    memory = agent_memory(machine)  # after the wait above: well past start-up, nothing playing
    note(card.work, f"idle agent in the guest: {memory}")
    assert memory["vlc_plugin_cache"] == "/usr/lib/x86_64-linux-gnu/vlc/plugins/plugins.dat", memory
    assert isinstance(memory["rss_mib"], float) and memory["rss_mib"] <= IDLE_RSS_MIB, memory


def test_a_stopped_agent_is_killed_by_the_watchdog_and_comes_back(machine: Machine, watch: UnitWatch):
    pid = show(machine, "MainPID")["MainPID"]
    assert machine.run(f"kill -STOP {pid}").code == 0
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        state = show(machine, "ActiveState", "NRestarts", "MainPID", "Result")
        if state["NRestarts"] == "1" and state["ActiveState"] == "active" and state["MainPID"] != pid:
            break
        time.sleep(5)
    assert (state["NRestarts"], state["ActiveState"]) == ("1", "active"), state
    watchdog = machine.run("journalctl -u loa-agent --no-pager -o cat | grep -i watchdog").out
    assert "Watchdog timeout" in watchdog, watchdog
    watch.seen.clear()
    watch.wait_online(120)


def test_after_power_off_the_card_holds_no_secret(machine: Machine, card: Card):
    machine.stop()
    names = fat_list(card.disk, BOOT_OFFSET)
    assert not [n for n in names if n.lower().startswith("loa") or n.lower() == "firstrun.sh"], names
    with card.disk.open("rb") as disk:  # every byte of the FAT partition, deleted clusters included
        disk.seek(BOOT_OFFSET)
        fat = disk.read(512 * 1024 * 1024)
    for name in SECRET_FILES:
        secret = (card.bundle / name).read_bytes().strip()
        assert len(secret) >= 16 and secret not in fat, name


def _seconds(value: str) -> float:
    """systemd's time span as `systemctl show` prints it (`1min 30s`, `45s`, `500ms`)."""
    units = {"min": 60.0, "s": 1.0, "ms": 0.001, "h": 3600.0}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9.]+)(min|ms|s|h)", value))
