"""What a province installs: the systemd unit (systemd accepts it and rates it well hardened), the example
gateway.toml (it loads), and the bundled profile shipped as package data."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO
from tools.gateway import config

GATEWAY = REPO / "tools" / "gateway"
SERVICE = GATEWAY / "systemd" / "loa-gateway.service"


def test_systemd_accepts_the_gateway_service_and_rates_it_well_hardened(tmp_path: Path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze (Debian package systemd) is needed to check the service file"
    unit = tmp_path / "loa-gateway.service"
    unit.write_text(SERVICE.read_text().replace("/opt/loa/venv/bin/loa", shutil.which("true") or "/bin/true"))
    verify = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False)
    assert verify.returncode == 0 or not [ln for ln in verify.stderr.splitlines() if ln.strip()], verify.stderr
    security = subprocess.run([analyze, "security", "--offline=yes", str(unit)], capture_output=True, text=True,
                              timeout=60, check=False)
    exposure = re.search(r"Overall exposure level for loa-gateway.service: ([\d.]+)", security.stdout + security.stderr)
    assert exposure and float(exposure.group(1)) <= 2.5, security.stdout[-2000:]
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(SERVICE)
    assert "loa gateway --config /var/lib/loa-gateway/gateway.toml" in parser["Service"]["ExecStart"]


def test_the_example_config_loads_and_the_profile_ships_as_package_data(tmp_path: Path):
    example = tmp_path / "gateway.toml"
    example.write_text((GATEWAY / "gateway.example.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "htttn.pw").write_text("secret\n")
    for name in ("htttn.token", "htttn-emergency.token"):
        (tmp_path / name).write_text(f"{name}-0123456789abcdef\n")
    cfg = config.load(example)
    assert cfg.base_url == "https://htttn.example.gov.vn" and cfg.credentials == {"": ("loa-platform", "secret")}
    assert cfg.inbound is not None
    assert {c.name: "emergency" in c.levels for c in cfg.inbound.credentials} == {"htttn": False,
                                                                                  "htttn-khan-cap": True}
    assert cfg.gateway.ping_s == 60 and cfg.profile.http.status_field == "TrangThaiGui"
    setup = configparser.ConfigParser(interpolation=None)
    setup.read(REPO / "setup.cfg", encoding="utf-8")
    assert "profiles/*.toml" in setup["options.package_data"]["tools.gateway"]
