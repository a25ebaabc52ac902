"""agent/systemd/firstrun.sh, the unit's first boot, run on this machine against a folder laid out like a unit's file
system (LOA_FIRSTRUN_ROOT). System commands that would change this machine (useradd, apt-get, systemctl, chown, the
venv's pip) are stand-ins on PATH that record their calls; everything else (shred, install, sed, find) is real.
The booted version of the same script runs in tests/image/test_booted_unit.py."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from tools.flash_firstrun import hooked

FIRSTRUN = REPO / "agent/systemd/firstrun.sh"
CMDLINE = "console=serial0,115200 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait"
SECRET = "mqtt-password-that-must-vanish-0123"

STUBS = {
    # Calls are recorded one a line in $CALLS; `id loa` succeeds once useradd ran; dpkg-query reports the packages in
    # $MISSING as absent until apt-get ran; the venv's python installs a `loa` command unless $PIP_FAILS is set.
    "groupadd": 'echo "groupadd $*" >>"$CALLS"',
    "useradd": 'echo "useradd $*" >>"$CALLS"',
    "usermod": 'echo "usermod $*" >>"$CALLS"',
    "getent": "exit 2",
    "id": 'grep -q "^useradd" "$CALLS" 2>/dev/null',
    "chown": 'echo "chown $*" >>"$CALLS"',
    "systemctl": 'echo "systemctl $*" >>"$CALLS"',
    "apt-get": 'echo "apt-get $*" >>"$CALLS"',
    "dpkg-query": ('p="${@: -1}"; if [[ " $MISSING " == *" $p "* ]] && ! grep -q "^apt-get" "$CALLS" 2>/dev/null; '
                   'then exit 1; fi; printf "install ok installed"'),
    # install -o/-g need the loa user, which only the stand-in useradd "made": keep the modes, drop the owner.
    "install": 'args=(); while [ $# -gt 0 ]; do case "$1" in -o|-g) shift 2 ;; *) args+=("$1"); shift ;; esac; done; '
               'echo "install ${args[*]}" >>"$CALLS"; exec /usr/bin/install "${args[@]}"',
    "python3": ('echo "python3 $*" >>"$CALLS"; v="${@: -1}"; mkdir -p "$v/bin"; '
                'printf \'#!/bin/bash\\necho "venv-python $*" >>"$CALLS"\\n'
                '[ -z "$PIP_FAILS" ] || exit 1\\n[ "$1" = -c ] && echo 0.1.0 && exit 0\\n'
                'touch "%s/bin/loa" && chmod +x "%s/bin/loa"\\n\' "$v" "$v" >"$v/bin/python"; chmod +x "$v/bin/python"'),
}


@pytest.fixture
def unit(tmp_path: Path) -> Path:
    """A unit's file system as flash.sh leaves the card: loa/ with the bundle, wheels and .debs; the hook in place."""
    fs = tmp_path / "fs"
    card = fs / "boot/firmware/loa"
    (card / "bundle").mkdir(parents=True)
    (card / "bundle/config.toml").write_text('[device]\nid = "u1"\n')
    (card / "bundle/mqtt.password").write_text(SECRET)
    (card / "bundle/trust.jwks").write_text("{}")
    (card / "wheels").mkdir()
    (card / "wheels/loa-0.1.0-py3-none-any.whl").write_bytes(b"wheel")
    (card / "debs").mkdir()
    (card / "debs/libvlc5_3.0.23_amd64.deb").write_bytes(b"deb")
    (card / "loa-agent.service").write_text("[Service]\n")
    (fs / "boot/firmware/cmdline.txt").write_text(hooked(CMDLINE))
    (fs / "boot/firmware/firstrun.sh").write_bytes(FIRSTRUN.read_bytes())
    (fs / "etc/systemd/system").mkdir(parents=True)
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name, body in STUBS.items():
        (stubs / name).write_text(f"#!/bin/bash\n{body}\n")
        (stubs / name).chmod(0o755)
    return fs


def run(fs: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "LOA_FIRSTRUN_ROOT": str(fs), "LOA_FIRSTRUN_LOGGED": "1",
                   "CALLS": str(fs.parent / "calls"), "MISSING": "libvlc5 espeak-ng", "PIP_FAILS": "",
                   "PATH": f"{fs.parent / 'bin'}:{os.environ['PATH']}", **env}
    return subprocess.run(["bash", str(FIRSTRUN)], capture_output=True, text=True, env=environment, timeout=60,
                          check=False)


def calls(fs: Path) -> list[str]:
    path = fs.parent / "calls"
    return path.read_text().splitlines() if path.exists() else []


def test_first_boot_installs_moves_the_bundle_erases_the_card_and_restores_cmdline(unit: Path):
    done = run(unit)
    assert done.returncode == 0, done.stdout + done.stderr
    state = unit / "var/lib/loa"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for name in ("config.toml", "mqtt.password", "trust.jwks"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name
    assert (state / "mqtt.password").read_text() == SECRET
    assert not (unit / "boot/firmware/loa").exists()
    assert not (unit / "boot/firmware/firstrun.sh").exists()
    assert (unit / "boot/firmware/cmdline.txt").read_text() == CMDLINE + "\n"
    assert json.loads((state / "firstboot.json").read_text())["result"] == "ok"
    made = calls(unit)
    assert any(c.startswith("useradd --system --gid loa --groups audio,dialout,gpio") for c in made), made
    assert [c for c in made if c.startswith("groupadd")] == [f"groupadd --system {g}" for g in
                                                             ("loa", "audio", "dialout", "gpio")]
    apt = [c for c in made if c.startswith("apt-get")]
    assert len(apt) == 1 and "/boot/firmware/loa/debs/libvlc5_3.0.23_amd64.deb" in apt[0], apt
    pip = [c for c in made if "pip install" in c]
    assert pip and "--no-index --find-links" in pip[0], made
    assert "systemctl enable loa-agent.service" in made
    assert (unit / "etc/systemd/system/loa-agent.service").read_text() == "[Service]\n"


def test_the_secrets_are_overwritten_before_they_are_deleted(unit: Path, tmp_path: Path):
    """shred, not rm: the password's clusters on the FAT partition must not keep its bytes."""
    wrapper = tmp_path / "bin/shred"
    wrapper.write_text('#!/bin/bash\necho "shred $*" >>"$CALLS"\nexec /usr/bin/shred "$@"\n')
    wrapper.chmod(0o755)
    assert run(unit).returncode == 0
    shredded = " ".join(c for c in calls(unit) if c.startswith("shred"))
    for name in ("config.toml", "mqtt.password", "trust.jwks"):
        assert f"/boot/firmware/loa/bundle/{name}" in shredded, shredded
    assert "-z" in shredded and "-u" in shredded


def test_with_every_package_present_nothing_is_installed_from_debian(unit: Path):
    assert run(unit, MISSING="").returncode == 0
    assert not [c for c in calls(unit) if c.startswith("apt-get")]


def test_a_failure_keeps_the_hook_and_the_bundle_for_the_next_boot_and_says_so(unit: Path):
    done = run(unit, PIP_FAILS="1")
    assert done.returncode == 1
    assert "FAILED at step 'venv': pip install --no-index" in done.stdout
    assert (unit / "boot/firmware/cmdline.txt").read_text() == hooked(CMDLINE)
    assert (unit / "boot/firmware/firstrun.sh").exists()
    assert (unit / "boot/firmware/loa/bundle/mqtt.password").read_text() == SECRET
    outcome = json.loads((unit / "var/lib/loa/firstboot.json").read_text())
    assert outcome["result"] == "failed" and outcome["detail"] == "venv: pip install --no-index"
    assert "venv" in (unit / "boot/firmware/loa/FIRSTBOOT-FAILED.txt").read_text()
    assert not any("enable" in c for c in calls(unit))
    again = run(unit)  # the next boot
    assert again.returncode == 0, again.stdout
    assert not (unit / "boot/firmware/loa").exists()
    assert json.loads((unit / "var/lib/loa/firstboot.json").read_text())["result"] == "ok"


def test_running_again_after_success_changes_nothing(unit: Path):
    assert run(unit).returncode == 0
    before = {p: p.read_bytes() for p in (unit / "var/lib/loa").iterdir()}
    (unit / "boot/firmware/cmdline.txt").write_text(hooked(CMDLINE))  # a hook left by an interrupted reboot
    again = run(unit)
    assert again.returncode == 0, again.stdout
    assert (unit / "boot/firmware/cmdline.txt").read_text() == CMDLINE + "\n"
    after = {p: p.read_bytes() for p in (unit / "var/lib/loa").iterdir() if p.name != "firstboot.json"}
    assert after == {p: b for p, b in before.items() if p.name != "firstboot.json"}


@pytest.mark.parametrize("cmdline", [CMDLINE, hooked(CMDLINE), hooked(hooked(CMDLINE)) + "\n"])
def test_the_hook_is_added_once_at_the_end(cmdline: str):
    assert hooked(cmdline) == CMDLINE + " systemd.run=/boot/firmware/firstrun.sh systemd.run_success_action=reboot " \
                                        "systemd.unit=kernel-command-line.target\n"
