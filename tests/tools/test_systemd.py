"""Running on a unit: the notify protocol over a real datagram socket, and the service file as systemd reads it."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.adapters.system.systemd_notify import SystemdNotifier
from tests.conftest import REPO

SERVICE = REPO / "agent" / "systemd" / "loa-agent.service"


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(2)
    yield sock
    sock.close()


def test_ready_watchdog_status_and_stopping_reach_systemd(notify_socket):
    notifier = SystemdNotifier({"NOTIFY_SOCKET": notify_socket.getsockname()})
    assert notifier.enabled
    assert notifier.ready("online") and notifier.watchdog() and notifier.status("3 in queue") and notifier.stopping()
    got = [notify_socket.recv(4096).decode() for _ in range(4)]
    assert got == ["READY=1\nSTATUS=online", "WATCHDOG=1", "STATUS=3 in queue", "STOPPING=1"]


def test_an_abstract_socket_is_written_with_a_leading_at_sign():
    name = f"loa-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        assert SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(100) == b"READY=1"


def test_without_systemd_every_call_is_a_quiet_no_op(tmp_path):
    for env in ({}, {"NOTIFY_SOCKET": "relative/path"}, {"NOTIFY_SOCKET": str(tmp_path / "gone")}):
        notifier = SystemdNotifier(env)
        assert notifier.ready() is False and notifier.watchdog() is False and notifier.stopping() is False


@pytest.mark.parametrize("env, interval", [
    ({"WATCHDOG_USEC": "30000000"}, 15.0),
    ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
    ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
    ({"WATCHDOG_USEC": "junk"}, None),
    ({}, None),
])
def test_the_watchdog_interval_is_half_of_watchdogsec(env, interval):
    assert SystemdNotifier(env).watchdog_interval_s() == interval


def service() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read(SERVICE)
    return parser


def test_the_service_is_notify_type_with_a_watchdog_restart_backoff_and_hardening():
    s = service()["Service"]
    assert (s["Type"], s["WatchdogSec"], s["Restart"], s["NotifyAccess"]) == ("notify", "30", "always", "main")
    assert int(s["RestartSec"]) > 0 and int(s["RestartMaxDelaySec"]) > int(s["RestartSec"]) and int(s["RestartSteps"])
    assert service()["Unit"]["StartLimitIntervalSec"] == "0"  # never gives up on a pole
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "StateDirectory": "loa",
                       "PrivateTmp": "yes", "ProtectHome": "yes", "CapabilityBoundingSet": "", "User": "loa",
                       "DevicePolicy": "closed", "UMask": "0077"}.items():
        assert s[key] == value, key
    assert "/var/lib/loa/config.toml" in s["ExecStart"]


def test_systemd_accepts_the_service_file_and_rates_it_well_hardened(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze (Debian package systemd) is needed to check the service file"
    unit = tmp_path / "loa-agent.service"
    unit.write_text(SERVICE.read_text().replace("/opt/loa/venv/bin/loa", shutil.which("true") or "/bin/true"))
    verify = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False)
    unknown = set(re.findall(r"Unknown key '(\w+)'", verify.stderr))
    assert unknown <= {"RestartSteps", "RestartMaxDelaySec"}, verify.stderr  # only systemd < 254 lacks these
    problems = [ln for ln in verify.stderr.splitlines() if "Unknown key" not in ln and ln.strip()]
    assert verify.returncode == 0 or not problems, verify.stderr
    security = subprocess.run([analyze, "security", "--offline=yes", str(unit)], capture_output=True, text=True,
                              timeout=60, check=False)
    exposure = re.search(r"Overall exposure level for loa-agent.service: ([\d.]+)", security.stdout + security.stderr)
    assert exposure and float(exposure.group(1)) <= 2.5, security.stdout[-2000:]


def test_the_reboot_exit_code_is_not_restarted_and_reboots_the_unit():
    from agent.runtime.agent_runtime import REBOOT_EXIT

    s = service()["Service"]
    assert s["RestartPreventExitStatus"] == str(REBOOT_EXIT) and "FailureAction" not in s  # a crash never reboots
    post = s["ExecStopPost"]
    assert post.startswith("+") and f'[ "$EXIT_STATUS" = {REBOOT_EXIT} ]' in post and "systemctl --no-block reboot" in post
    for status, reboots in ((str(REBOOT_EXIT), True), ("2", False), ("0", False)):  # the step as systemd runs it
        shell = post.removeprefix("+").replace("systemctl --no-block reboot", "echo REBOOT")
        out = subprocess.run(shlex.split(shell), env={"EXIT_STATUS": status, "PATH": "/usr/bin:/bin"},
                             capture_output=True, text=True, check=True).stdout
        assert ("REBOOT" in out) == reboots, (status, out)
