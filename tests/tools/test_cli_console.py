"""The console as a person's hand meets it, against the real broker and a real agent: a profile makes
`loa send ping --device UNIT` enough; --json for scripts; --lang anywhere and from the locale; `loa send` alone
lists the commands; --version."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from province import broker as broker_tool
from province.console import Console
from tests.conftest import REPO, Broker
from tests.e2e.link_helpers import UnitWatch


def loa(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("LOA_PROFILE", "LOA_LANG", "LC_ALL", "LC_MESSAGES")}
    return subprocess.run([sys.executable, "-m", "tools.cli", *args], capture_output=True, text=True, timeout=60,
                          cwd=REPO, check=False, env={**clean, **(env or {})})


def write_profile(folder: Path, broker: Broker, keys: Path) -> Path:
    """A profile with a relative password file (beside it) and an absolute key."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(broker_tool.BrokerDir(broker.dir).password_file(broker_tool.CONSOLE), folder / "console.password")
    path = folder / "profile.toml"
    path.write_text(f'broker = "{broker.console_url}"\nusername = "console"\npassword_file = "console.password"\n'
                    f'key = "{keys / "signing.jwk"}"\n', encoding="utf-8")
    return path


def test_a_profile_makes_one_short_line_enough(make_unit, console: Console, broker: Broker, keys: Path,
                                               tmp_path: Path):
    unit = make_unit()
    UnitWatch(console, unit).wait_online()
    profile = write_profile(tmp_path / "elsewhere", broker, keys)
    by_env = loa("send", "ping", "--device", unit.device_id, "--wait", "10", env={"LOA_PROFILE": str(profile)})
    assert by_env.returncode == 0, by_env.stdout + by_env.stderr
    assert f"Sent ping to dev:{unit.device_id}" in by_env.stdout and "finished" in by_env.stdout

    home = tmp_path / "home"
    write_profile(home / ".config" / "loa", broker, keys)
    scripted = loa("send", "ping", "--device", unit.device_id, "--wait", "10", "--json", env={"HOME": str(home)})
    answer = json.loads(scripted.stdout)
    assert scripted.returncode == 0 and answer["command"] == "ping" and answer["target"] == f"dev:{unit.device_id}"
    assert answer["acks"][unit.device_id]["state"] == "finished"

    logs = loa("logs", unit.device_id, "--json", "--lang", "vi", "--profile", str(profile))
    lines = json.loads(logs.stdout)
    assert logs.returncode == 0 and lines["answered"] is True
    assert any(ln["key"] == "link_up" and "Đã kết nối" in ln["text"] for ln in lines["lines"]), lines

    status = loa("status", "--json", "--profile", str(profile))
    overview = json.loads(status.stdout)
    assert unit.device_id in overview["communes"]["commune-a"]["online"]
    assert overview["units"][unit.device_id]["online"] is True


def test_a_profile_the_line_overrides_and_a_silent_unit_exits_1(broker: Broker, keys: Path, tmp_path: Path):
    profile = write_profile(tmp_path, broker, keys)
    silent = loa("--profile", str(profile), "send", "ping", "--device", "nobody-here", "--wait", "1", "--lang", "vi")
    assert silent.returncode == 1
    assert silent.stdout.splitlines()[-1] == "Không nhận được phản hồi từ dev:nobody-here trong 1.0 giây"
    elsewhere = loa("send", "ping", "--device", "nobody-here", "--broker", "mqtt://127.0.0.1:1",
                    env={"LOA_PROFILE": str(profile)})
    assert elsewhere.returncode == 3 and "cannot reach the broker at mqtt://127.0.0.1:1" in elsewhere.stdout


def test_send_alone_lists_the_commands_in_the_locales_language():
    listing = loa("send", env={"LC_ALL": "vi_VN.UTF-8", "LANG": "en_US.UTF-8"})
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert lines[0].startswith("Các lệnh (loa send LỆNH")
    names = [ln.split(":")[0].strip() for ln in lines[1:]]
    assert names == sorted(names) and {"play", "stop", "relay", "ping", "logs", "snapshot"} <= set(names)
    assert loa("send", "--lang", "en").stdout.startswith("Commands (loa send COMMAND")


def test_version():
    done = loa("--version")
    assert done.returncode == 0 and done.stdout.strip().startswith("loa 0.")
