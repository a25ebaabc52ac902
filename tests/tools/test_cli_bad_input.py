"""The `loa` command over a table of bad inputs: each gives its documented exit code (docs/cli.md) and one clear line
in the chosen language, never a traceback, and nothing waits on the network first."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from province.localnet import free_port
from tests.conftest import REPO
from tools import cli

T = "{tmp}"  # replaced by the test's folder
KEY = "{keys}/signing.jwk"
CONSOLE = ["--key", KEY, "--broker", "mqtt://127.0.0.1:1"]

# (language, the line, exit code, what the one line says)
CASES = [
    ("en", ["send", "ping", "--device", "d", *CONSOLE, "--password-file", f"{T}/nope"], 2,
     f"loa: --password-file {T}/nope: no such file"),
    ("vi", ["send", "ping", "--device", "d", *CONSOLE, "--password-file", f"{T}/nope"], 2,
     f"loa: --password-file {T}/nope: không có tệp này"),
    ("en", ["send", "ping", "--device", "d", "--key", KEY, "--broker", "127.0.0.1:1883"], 2,
     "loa: --broker 127.0.0.1:1883: say how to connect: mqtt://127.0.0.1:1883 (or mqtts://127.0.0.1:1883 for TLS)"),
    ("vi", ["status", "--broker", "http://example"], 2, "--broker http://example: không phải địa chỉ máy chủ MQTT"),
    ("en", ["status", "--broker", "mqtt://127.0.0.1:99999"], 2, "--broker mqtt://127.0.0.1:99999: not a broker"),
    ("en", ["send", "reboot2", "--device", "d", *CONSOLE], 2,
     "loa: unknown command reboot2 (did you mean reboot?); `loa send` alone lists the commands"),
    ("vi", ["send", "relay", "--device", "d", "--args", '{"zone": 0, "on": true}', *CONSOLE], 2,
     "loa: --args của lệnh relay: zone: 0 is less than the minimum of 1 (chưa ký, chưa gửi gì)"),
    ("en", ["send", "relay", "--device", "d", "--args", "zone=1", *CONSOLE], 2, "loa: --args: not JSON"),
    ("en", ["send", "relay", "--device", "d", "--args", "[1]", *CONSOLE], 2, "loa: --args: must be a JSON object"),
    ("en", ["send", "ping", "--device", "d", "--key", f"{T}/none.jwk", "--broker", "mqtt://127.0.0.1:1"], 2,
     f"loa: signing key not found: {T}/none.jwk"),
    ("en", ["send", "ping", "--device", "d"], 2,
     "loa send: missing --broker, --key (give it on the line, or in the profile: docs/cli.md)"),
    ("vi", ["send", "ping", "--device", "d", "--profile", f"{T}/none.toml"], 2,
     f"loa: hồ sơ {T}/none.toml: không có tệp này"),
    ("en", ["--profile", f"{T}/typo.toml", "status"], 2,
     f"loa: profile {T}/typo.toml: profile.brokr: unknown key (did you mean 'broker'?)"),
    ("en", ["playlog", "--group", "xa-a", "--out", "/proc/plays.csv", *CONSOLE], 2,
     "loa: --out /proc/plays.csv: cannot write there"),
    ("vi", ["playlog", "--group", "xa-a", "--out", f"{T}/no/plays.csv", *CONSOLE], 2,
     f"loa: --out {T}/no/plays.csv: thư mục {T}/no không tồn tại"),
    ("en", ["playlog", "--group", "xa-a", "--out", T, *CONSOLE], 2, f"loa: --out {T}: is a folder; give a file name"),
    ("en", ["playlog", "--group", "xa-a", "--out", f"{T}/p.pdf", "--format", "pdf", *CONSOLE], 2,
     "loa playlog: --format: pdf is not one of 'xlsx', 'csv', 'json'"),
    ("en", ["bogus"], 2, "loa: command: bogus is not one of"),
    ("vi", ["status", "--wait", "abc"], 2, "loa status: --wait: abc không phải là số"),
    ("en", ["status", "--lang", "xx"], 2, "loa: --lang: xx is not one of vi, en"),
    ("en", ["send", "ping", "--device", "a", "--group", "b", *CONSOLE], 2,
     "loa send: --group cannot be given with --device"),
    ("vi", ["send", "ping", *CONSOLE], 2, "loa: cần một trong các tham số --device --group"),
    ("en", ["logs"], 2, "loa logs: missing UNIT"),
    ("en", ["send", "ping", "--device", "d", "--key", KEY, "--broker", "mqtt://127.0.0.1:{closed}"], 3,
     "loa: cannot reach the broker at mqtt://127.0.0.1:{closed}"),
    ("vi", ["provision", "--csv", f"{T}/missing.csv", "--trust", "{keys}/trust.jwks", "--broker", "mqtt://h:1",
            "--out", f"{T}/units"], 2, f"loa: --csv {T}/missing.csv: không có tệp này"),
    ("en", ["provision", "--csv", f"{T}/bad.csv", "--trust", "{keys}/trust.jwks", "--broker", "mqtt://h:1",
            "--out", f"{T}/units"], 2, "loa: bad.csv line 3, column lat: '13.9.1': must be a number in decimal degrees"),
    ("vi", ["provision", "--csv", f"{T}/noheader.csv", "--trust", "{keys}/trust.jwks", "--broker", "mqtt://h:1",
            "--out", f"{T}/units"], 2, "loa: noheader.csv: dòng đầu phải ghi tên các cột id, commune, lat, lon, groups"),
    ("en", ["keys", "init", "{keys}"], 2, ("already exists and units may trust it: to change the signing key, "
                                           "loa keys rotate {keys}")),
]


@pytest.fixture
def place(tmp_path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A home without a profile, the files the table names, and a port nobody listens on."""
    for name in ("LOA_PROFILE", "XDG_CONFIG_HOME", "LOA_LANG", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "typo.toml").write_text('brokr = "mqtt://127.0.0.1:1883"\n')
    (tmp_path / "bad.csv").write_text("id;commune;lat;lon;groups\ngl-1;Xã A;13,9;108;\ngl-2;Xã B;13.9.1;108;\n",
                                      encoding="utf-8")
    (tmp_path / "noheader.csv").write_text("gl-1;Xã A;13,9;108;\n", encoding="utf-8")
    return {"tmp": str(tmp_path), "keys": str(keys), "closed": str(free_port())}


def filled(text: str, place: dict[str, str]) -> str:
    for name, value in place.items():
        text = text.replace("{" + name + "}", value)
    return text


def run(argv: list[str], lang: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """--lang before the command in Vietnamese, after it in English (it is accepted anywhere)."""
    if "--lang" not in argv:
        argv = ["--lang", lang, *argv] if lang == "vi" else [*argv, "--lang", lang]
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, [ln for ln in (out.out + out.err).splitlines() if ln.strip()]


@pytest.mark.parametrize("lang, argv, code, line", CASES, ids=[f"{c[0]}:{' '.join(c[1][:2])}" for c in CASES])
def test_bad_input_is_one_clear_line_and_its_exit_code(place, capsys, lang, argv, code, line):
    argv = [filled(a, place) for a in argv]
    started = time.monotonic()
    got, lines = run(argv, lang, capsys)
    assert (got, len(lines)) == (code, 1), lines
    assert filled(line, place) in lines[0], lines[0]
    assert time.monotonic() - started < 5  # refused at once, not after a wait


def test_no_traceback_from_a_real_process(place):
    """The same as a person's shell sees it: stdout and stderr of the `loa` module in its own process."""
    for argv, code in ((["status", "--broker", "mqtt://127.0.0.1:1", "--password-file", f"{place['tmp']}/none"], 2),
                       (["status", "--wait", "abc"], 2),
                       (["status", "--broker", f"mqtt://127.0.0.1:{place['closed']}"], 3)):
        done = subprocess.run([sys.executable, "-m", "tools.cli", *argv], capture_output=True, text=True, cwd=REPO,
                              timeout=60, check=False, env={"PATH": "/usr/bin:/bin", "HOME": place["tmp"],
                                                            "PYTHONPATH": str(REPO)})
        output = (done.stdout + done.stderr).strip()
        assert done.returncode == code and "Traceback" not in output and len(output.splitlines()) == 1, output
