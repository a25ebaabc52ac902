"""agent.config.check: a unit's config and the bundle files next to it, every problem in one pass, each coded (key
path, code, parameters) so that tools can say it in Vietnamese and English."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.catalog import fit
from agent.config import check
from agent.config.engine import Problem
from tools.provision import UnitSpec, provision
from tools.provision_hw import Hardware


@pytest.fixture
def bundle(tmp_path: Path, keys: Path) -> Path:
    return provision(UnitSpec("u-1", keys / "trust.jwks", "mqtt://127.0.0.1:1883", tmp_path / "u-1",
                              hardware=Hardware("lcus-2", serial_port="/dev/ttyUSB0"), status_port=8080))


def test_a_provisioned_bundle_has_no_problem(bundle: Path) -> None:
    assert check.check(bundle, fit.problems) == []


def test_every_problem_of_a_broken_bundle_is_listed_at_once(bundle: Path) -> None:
    text = bundle.read_text()
    text = text.replace('id = "u-1"', 'id = "u 1"').replace('serial_url = "/dev/ttyUSB0"\n', "")
    text = text.replace("zones = [", "zones = [\n    5,").replace('[trust]\n', '[trust]\nmax_lifetime_s = 1\n')
    bundle.write_text(text + '\n[reports]\nheartbeet_s = 10\n')
    (bundle.parent / "trust.jwks").unlink()
    (bundle.parent / "status-page.hash").chmod(0o644)
    problems = check.check(bundle, fit.problems)
    assert [(p.key, p.code) for p in problems if isinstance(p, Problem)] == [
        ("trust.max_lifetime_s", "between"),
        ("reports.heartbeet_s", "unknown_key"),
        ("device.id", "name"),
        ("trust.jwks", "file_missing"),
        ("web.password_hash_file", "secret_mode"),
        ("hardware.zones", "unwired"),
        ("hardware.serial_url", "serial_needed"),
    ], problems
    assert problems[0] == "trust.max_lifetime_s: must be between 10 and 604800 (got 1)"
    assert problems[1] == "reports.heartbeet_s: unknown key (did you mean 'heartbeat_s'?)"
    assert isinstance(problems[1], Problem) and problems[1].params["suggest"] == "heartbeat_s"


def test_secrets_must_be_there_and_private(tmp_path: Path, keys: Path) -> None:
    (tmp_path / "trust.jwks").write_bytes((keys / "trust.jwks").read_bytes())
    (tmp_path / "unit.key").write_text("not a key")
    (tmp_path / "unit.key").chmod(0o600)
    (tmp_path / "config.toml").write_text('[device]\nid = "u"\n[mqtt]\nurl = "mqtts://h:8883"\ncert = "unit.pem"\n'
                                          'key = "unit.key"\npassword_file = "mqtt.password"\n'
                                          '[trust]\njwks = "trust.jwks"\n[device.x]\n')
    problems = check.check(tmp_path / "config.toml")
    assert [(p.key, p.code) for p in problems if isinstance(p, Problem)] == [
        ("device.x", "unknown_key"),
        ("mqtt.cert", "file_missing"),
        ("mqtt.key", "secret_empty"),
        ("mqtt.password_file", "file_missing"),
        ("mqtt.ca", "ca_needed"),
    ]


def test_a_trust_set_that_is_not_ed25519_is_a_problem(bundle: Path) -> None:
    (bundle.parent / "trust.jwks").write_text('{"keys": [{"kty": "RSA"}]}')
    assert [p.code for p in check.check(bundle) if isinstance(p, Problem)] == ["key_set"]


def test_unreadable_toml_is_one_problem_and_a_missing_file_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[device\n")
    problems = check.check(tmp_path / "config.toml")
    assert len(problems) == 1 and "not valid TOML" in problems[0]
    with pytest.raises(FileNotFoundError):
        check.check(tmp_path / "nothing.toml")


def test_an_unknown_board_names_the_known_ones(bundle: Path) -> None:
    bundle.write_text(bundle.read_text().replace('board = "lcus-2"', 'board = "lcus-3"'))
    (problem,) = check.check(bundle, fit.problems)
    assert isinstance(problem, Problem) and problem.code == "no_board"
    assert "known: lcus-1, lcus-2, pico-coproc" in problem and problem.params["suggest"] in ("lcus-1", "lcus-2")


def test_a_bundle_copied_elsewhere_is_checked_where_it_is(bundle: Path, tmp_path: Path) -> None:
    copy = tmp_path / "card" / "loa"
    shutil.copytree(bundle.parent, copy)
    (copy / "trust.jwks").unlink()
    assert [p.key for p in check.check(copy / "config.toml") if isinstance(p, Problem)] == ["trust.jwks"]


def test_an_unknown_health_monitor_is_a_problem(bundle: Path) -> None:
    bundle.write_text(bundle.read_text().replace("[hardware]\n", '[hardware]\nmonitor = "pi-basik"\n'))
    problems = check.check(bundle, fit.problems)
    assert [(p.key, p.code) for p in problems if isinstance(p, Problem)] == [("hardware.monitor", "monitor")]
    assert "pi-basic" in str(problems[0])
