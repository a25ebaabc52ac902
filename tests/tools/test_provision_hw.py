"""`loa provision --hw BOARD` for every board in hw/ (and fake, and an e-board): each bundle passes `loa config
check`; a wrong board lists the valid ones; an existing unit needs --force; a failure leaves no half-written bundle;
every bundle gets a printable label beside it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import segno

from agent.catalog import boards
from agent.errors import ConfigError
from tests.conftest import REPO
from tools import cli, label
from tools.provision import STATUS_HASH

SERIAL_KINDS = ("serial", "modbus", "coproc")


def provision(tmp: Path, keys: Path, device: str, *extra: str) -> int:
    return cli.main(["--lang", "en", "provision", device, "--trust", str(keys / "trust.jwks"), "--broker",
                     "mqtt://127.0.0.1:1883", "--out", str(tmp / device), "--group", "xa-ia-grai", *extra])


def config_check(config: Path, lang: str = "en") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.cli", "--lang", lang, "config", "check", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=REPO, check=False)


def board_options(name: str) -> list[str]:
    if name == "fake":
        return []
    port = ["--serial-port", "/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0"]
    return ["--hw", name, *(port if boards.load_board(name).kind in SERIAL_KINDS else [])]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("board", ["fake", *boards.names("boards")])
def test_every_board_in_hw_is_provisioned_and_its_bundle_passes_config_check(tmp_path, keys, board, capsys):
    assert provision(tmp_path, keys, "u-1", *board_options(board), "--modem", "simcom-sim7600",
                     "--audio-device", "pi-headphones") == 0
    doc = tomllib.loads((tmp_path / "u-1" / "config.toml").read_text())
    hw = doc["hardware"]
    if board == "fake":
        assert hw["relays"] == "fake"
    else:
        described = boards.load_board(board)
        assert (hw["relays"], hw["board"]) == ("board", board)
        assert hw["zones"] == [zone for zone, _ in described.zones]  # every zone the board wires, no more
        assert ("serial_url" in hw) == (described.kind in SERIAL_KINDS)
    assert (hw["modem"], hw["modem_url"]) == ("simcom-sim7600", "/dev/ttyUSB2")  # the AT port its file gives
    assert doc["audio"]["output"] == "alsa:hw:CARD=Headphones,DEV=0"
    checked = config_check(tmp_path / "u-1" / "config.toml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "fine; the agent can start with this bundle" in checked.stdout
    assert leftovers(tmp_path) == []


def test_an_eboard_unit_gets_its_role_and_screen(tmp_path, keys):
    assert provision(tmp_path, keys, "board-1", "--role", "eboard", "--screen", "3840x2160") == 0
    doc = tomllib.loads((tmp_path / "board-1" / "config.toml").read_text())
    assert doc["device"]["role"] == "eboard"
    assert (doc["web"]["kiosk_width"], doc["web"]["kiosk_height"]) == (3840, 2160)
    assert config_check(tmp_path / "board-1" / "config.toml").returncode == 0


def test_a_wrong_board_name_lists_the_valid_ones_and_writes_nothing(tmp_path, keys, capsys):
    assert provision(tmp_path, keys, "u-1", "--hw", "waveshare-relay") == 2
    err = capsys.readouterr().out
    assert "--hw 'waveshare-relay': no such board (did you mean 'waveshare-rpi-relay-board'?)" in err
    assert f"valid: {', '.join(['fake', *boards.names('boards')])}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_every_wrong_hardware_option_is_reported_at_once(tmp_path, keys, capsys):
    assert provision(tmp_path, keys, "u-1", "--hw", "lcus-2", "--modem", "quectel", "--audio-device", "hdmi",
                     "--screen", "1920x1080") == 2
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[1].strip().split(" ")[0] for line in lines] == [
        "--serial-port", "--modem", "--audio-device", "--screen"], lines
    assert "valid: quectel-ec25, simcom-sim7600" in lines[1]
    assert list(tmp_path.iterdir()) == []


def test_a_gpio_board_refuses_a_serial_port(tmp_path, keys, capsys):
    assert provision(tmp_path, keys, "u-1", "--hw", "waveshare-rpi-relay-board", "--serial-port", "/dev/ttyUSB0") == 2
    assert "sits on the GPIO header and has no serial port" in capsys.readouterr().out


def test_an_existing_unit_is_replaced_only_with_force(tmp_path, keys, capsys):
    assert provision(tmp_path, keys, "u-1", "--hw", "pimoroni-automation-hat") == 0
    bundle = tmp_path / "u-1"
    before = {p.name: p.read_bytes() for p in bundle.iterdir()}
    assert provision(tmp_path, keys, "u-1", "--hw", "lcus-1", "--serial-port", "/dev/ttyUSB0") == 2
    assert "already holds a unit's bundle; re-provision it with --force" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in bundle.iterdir()} == before
    assert provision(tmp_path, keys, "u-1", "--hw", "lcus-1", "--serial-port", "/dev/ttyUSB0", "--force") == 0
    assert tomllib.loads((bundle / "config.toml").read_text())["hardware"]["board"] == "lcus-1"
    assert (bundle / STATUS_HASH).read_bytes() != before[STATUS_HASH]  # a new password: the old one stops working
    assert leftovers(tmp_path) == []


def test_a_failure_while_building_leaves_no_half_written_bundle(tmp_path, keys, capsys):
    bad_trust = tmp_path / "bad.jwks"
    bad_trust.write_text('{"keys": [{"kty": "RSA"}]}')  # copied into the bundle, then refused by the check
    assert cli.main(["--lang", "en", "provision", "u-1", "--trust", str(bad_trust), "--broker",
                     "mqtt://127.0.0.1:1883", "--out", str(tmp_path / "units" / "u-1")]) == 2
    assert "trust.jwks: " in capsys.readouterr().out
    assert list((tmp_path / "units").iterdir()) == []  # neither the bundle nor its temporary folder


def test_an_existing_bundle_survives_a_failed_forced_reprovisioning(tmp_path, keys):
    assert provision(tmp_path, keys, "u-1") == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "u-1").iterdir()}
    bad_trust = tmp_path / "bad.jwks"
    bad_trust.write_text("{}")
    assert cli.main(["--lang", "en", "provision", "u-1", "--trust", str(bad_trust), "--broker",
                     "mqtt://127.0.0.1:1883", "--out", str(tmp_path / "u-1"), "--force"]) == 2
    assert {p.name: p.read_bytes() for p in (tmp_path / "u-1").iterdir()} == before
    assert leftovers(tmp_path) == []


def test_an_unwritable_folder_is_refused_before_anything_is_made(tmp_path, keys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"--out .*not-a-folder/units/u-1: cannot write a bundle there"):
        cli_identity_provision(tmp_path, keys, blocker / "units" / "u-1")
    read_only = tmp_path / "ro"
    read_only.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(read_only)],
                             capture_output=True, check=False).returncode == 0
    try:
        if mounted:  # root writes through any mode bits: a read-only file system is what refuses it
            with pytest.raises(ConfigError, match="cannot write a bundle there"):
                cli_identity_provision(tmp_path, keys, read_only / "u-1")
    finally:
        if mounted:
            subprocess.run(["umount", str(read_only)], check=True)


def cli_identity_provision(tmp_path: Path, keys: Path, out: Path) -> None:
    from tools.provision import UnitSpec, provision_unit

    provision_unit(UnitSpec("u-1", keys / "trust.jwks", "mqtt://127.0.0.1:1883", out))


def test_the_label_beside_the_bundle_shows_id_commune_and_a_qr_code_and_no_secret(tmp_path, keys, capsys):
    assert provision(tmp_path, keys, "dev-042", "--commune", "Ia Grai (Xã Ia Dêr)") == 0
    out = capsys.readouterr().out
    password = re.search(r"\): (\S+) \(port 8080\)", out)
    assert password
    path = tmp_path / "dev-042-label.svg"
    assert f"Label for dev-042's box: {path}" in out
    svg = path.read_text(encoding="utf-8")
    assert ">dev-042<" in svg and ">Ia Grai (Xã Ia Dêr)<" in svg
    qr = segno.make(label.payload("dev-042", "Ia Grai (Xã Ia Dêr)"), error="m")
    drawn, expected = re.search(r'd="([^"]+)"', svg), re.search(r'd="([^"]+)"', qr.svg_inline())
    assert drawn and expected and drawn.group(1) == expected.group(1)
    assert json.loads(label.payload("dev-042", "Ia Grai (Xã Ia Dêr)")) == {"loa": "dev-042",
                                                                            "commune": "Ia Grai (Xã Ia Dêr)"}
    assert password.group(1) not in svg
    assert not any(p.name.endswith(".svg") for p in (tmp_path / "dev-042").iterdir())  # the card never gets it
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"


def test_the_label_names_the_first_group_when_no_commune_is_given(tmp_path, keys):
    assert provision(tmp_path, keys, "u-1") == 0
    assert ">xa-ia-grai<" in (tmp_path / "u-1-label.svg").read_text(encoding="utf-8")


def test_without_the_technician_tools_the_bundle_is_made_and_the_label_is_said_missing(tmp_path, keys):
    """A unit's own install has no segno (extra [tools]): a benchmark provisioning on it still gets its bundle."""
    script = ("import sys; sys.modules['segno'] = None; from tools import cli; sys.exit(cli.main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", script, "--lang", "en", "provision", "u-1", "--trust",
                           str(keys / "trust.jwks"), "--broker", "mqtt://127.0.0.1:1883", "--out", str(tmp_path / "u-1")],
                          capture_output=True, text=True, timeout=60, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    assert "No label for u-1: the QR code needs the technician tools (pip install 'loa[tools]')" in done.stdout
    assert (tmp_path / "u-1" / "config.toml").is_file() and not label.label_path(tmp_path / "u-1").exists()
