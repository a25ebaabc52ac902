"""`loa config check` (every problem at once, in Vietnamese and English, exit 0 fine / 1 problems / 2 usage) and
`loa hw list` (boards with zones and wiring sheet, modems, audio outputs), as a technician runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.catalog import boards, fit
from agent.config import check
from agent.config.engine import Problem
from tests.conftest import REPO
from tools import cli_hw
from tools.provision import UnitSpec, provision
from tools.provision_hw import Hardware


def loa(*argv: str | Path, lang: str = "en") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.cli", "--lang", lang, *map(str, argv)],
                          capture_output=True, text=True, timeout=60, cwd=REPO, check=False)


@pytest.fixture
def bundle(tmp_path: Path, keys: Path) -> Path:
    return provision(UnitSpec("u-1", keys / "trust.jwks", "mqtt://127.0.0.1:1883", tmp_path / "u-1",
                              hardware=Hardware("waveshare-modbus-rtu-relay-8ch", serial_port="/dev/ttyUSB0"), status_port=8080))


def break_it(config: Path) -> None:
    text = config.read_text().replace('url = "mqtt://127.0.0.1:1883"', 'url = "http://127.0.0.1"')
    text = text.replace('board = "waveshare-modbus-rtu-relay-8ch"', 'board = "waveshare-modbus"')
    config.write_text(text + '\n[audio]\noutput = "speaker"\nwarmup_s = "slow"\n[reports]\nheartbeat_s = 1\n'
                      '[update]\nstart_s = 10\ncheck_s = 60\n')
    (config.parent / "status-page.hash").write_text("")


def test_a_good_bundle_exits_0_in_both_languages(bundle: Path) -> None:
    done = loa("config", "check", bundle, lang="vi")
    assert done.returncode == 0
    assert done.stdout.splitlines() == [f"{bundle}: hợp lệ; tác tử có thể khởi động với gói cấu hình này.",
                                        f"{bundle}: fine; the agent can start with this bundle."]


def test_a_broken_bundle_lists_every_problem_in_vietnamese_and_english_and_exits_1(bundle: Path) -> None:
    break_it(bundle)
    done = loa("config", "check", bundle, lang="vi")
    lines = done.stdout.splitlines()
    assert done.returncode == 1, done.stdout + done.stderr
    problems = check.check(bundle, fit.problems)
    assert len(problems) == 7 and len(lines) == 2 * 7 + 2
    assert lines[-2:] == [f"{bundle}: 7 lỗi; tác tử sẽ không khởi động với gói cấu hình này.",
                          f"{bundle}: 7 problem(s); the agent would not start with this bundle."]
    pairs = list(zip(lines[0:-2:2], lines[1:-2:2], strict=True))
    assert [en.strip() for _, en in pairs] == problems  # English: the very line the agent prints
    assert "✗ mqtt.url: phải bắt đầu bằng mqtts:// hoặc mqtt:// (đang là 'http://127.0.0.1')" in lines
    vietnamese = "\n".join(vi for vi, _ in pairs)
    for words in ("phải nằm trong khoảng 5 đến 3600 (đang là 1)", "audio.warmup_s: phải có kiểu float",
                  "update.start_s: phải dài hơn update.check_s (60 giây)", "tệp bí mật", "trống",
                  "không có bo mạch 'waveshare-modbus' trong hw/boards; các tên hợp lệ: lcus-1",
                  "(có phải ý bạn là 'waveshare-modbus-rtu-relay-8ch'?)", "audio.output: giá trị không hợp lệ"):
        assert words in vietnamese, (words, vietnamese)


def test_english_templates_give_the_agents_own_lines(bundle: Path, tmp_path: Path) -> None:
    """tools/strings/en.toml renders each coded problem exactly as the agent words it, so the two never drift."""
    break_it(bundle)
    texts = [('[device]\nid = ""\nrole = "pole"\n[mqtt]\nurl = "mqtt://[x"\n[trust]\njwks = "t"\n[hardware]\n'
             'zones = []\nrelays = "board"\n[web]\nstatus_port = 8080\n[x]\n'),
             ('[device]\nid = "a b"\ntimezone = "Mars/Olympus"\n[mqtt]\nurl = "mqtts://h"\nkey = "k"\n[trust]\n'
             'jwks = "t"\n[hardware]\nmodem_url = "/dev/ttyUSB2"\nmodem = "nokia"\nrelays = "board"\n'
             'board = "pimoroni-automation-hat"\nserial_url = "/dev/ttyS0"\n')]
    problems = check.check(bundle, fit.problems)
    for i, text in enumerate(texts):
        (tmp_path / f"{i}.toml").write_text(text)
        problems += check.check(tmp_path / f"{i}.toml", fit.problems)
    codes = {p.code for p in problems if isinstance(p, Problem)}
    assert len(codes) >= 20, codes
    for problem in problems:
        assert isinstance(problem, Problem) and cli_hw.problem_text("en", problem) == problem
        assert cli_hw.problem_text("vi", problem) != problem, problem  # every code has its Vietnamese


@pytest.mark.parametrize("argv", [("config", "check"), ("config", "check", "/nonexistent/config.toml"),
                                  ("config", "check", "a.toml", "b.toml")])
def test_usage_errors_exit_2(argv: tuple[str, ...]) -> None:
    assert loa(*argv).returncode == 2


@pytest.mark.parametrize("lang, header, zones", [("en", "Relay boards (loa provision --hw NAME):", "zones"),
                                                 ("vi", "Bo mạch rơ-le (loa provision --hw TÊN):", "vùng")])
def test_hw_list_shows_every_board_with_its_zones_and_wiring_sheet(lang: str, header: str, zones: str) -> None:
    done = loa("hw", "list", lang=lang)
    assert done.returncode == 0 and done.stdout.splitlines()[0] == header
    for name in boards.names("boards"):
        line = next(x for x in done.stdout.splitlines() if x.startswith(f"  {name}: "))
        board = boards.load_board(name)
        assert board.title in line and f" {board.kind};" in line
        labels = {c.number: c.label for c in board.channels}
        assert f"{zones} " + ", ".join(f"{z}→{labels[c]}" for z, c in board.zones) + ";" in line
        assert "hw/WIRING.md § " in line and f"`{name}`" in line  # its own section of the wiring sheet
    for name in [*boards.names("modems"), *boards.names("audio"), *boards.names("monitors")]:
        assert f"  {name}: " in done.stdout
    assert "--hw fake" in done.stdout.splitlines()[-1]
