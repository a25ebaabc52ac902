"""A bad config gives one clear line per problem naming the key, a non-zero exit, and nothing half-started."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from agent.config import unit
from tests.conftest import REPO

GOOD = """
[device]
id = "u1"
state_dir = "state"
[mqtt]
url = "mqtt://127.0.0.1:9"
allow_plain = true
[trust]
jwks = "trust.jwks"
"""


def run_agent(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.cli", "--lang", "en", "agent", "--config", str(config)],
                          capture_output=True, text=True, timeout=20, cwd=REPO, check=False)


@pytest.mark.parametrize("text, expected", [
    (None, "config file not found"),
    ("[device\nid=1", "not valid TOML"),
    (GOOD + "\n[reports]\nheartbeet_s = 10\n", "reports.heartbeet_s: unknown key (did you mean 'heartbeat_s'?)"),
    (GOOD + "\n[reports]\nheartbeat_s = 1\n", "reports.heartbeat_s: must be between 5 and 3600 (got 1)"),
    (GOOD + "\n[hardware]\nzones = 'one'\n", "hardware.zones: must be a list of int"),
    (GOOD.replace("allow_plain = true", ""), "mqtt.url: plain mqtt:// needs mqtt.allow_plain = true"),
    (GOOD.replace('id = "u1"', 'id = ""'), "device.id: must not be empty"),
    (GOOD.replace('jwks = "trust.jwks"', 'jwks = "missing.jwks"'), "trust.jwks: file not found"),
    (GOOD.replace('id = "u1"', 'id = "a/b#"'), "device.id/groups: 'a/b#' must be"),
    (GOOD.replace('url = "mqtt://127.0.0.1:9"', 'urls = ["mqtt://127.0.0.1:9", "http://b:1"]'),
     "mqtt.urls: must start with mqtts:// or mqtt:// (got 'http://b:1')"),
    (GOOD.replace('url = "mqtt://127.0.0.1:9"', 'urls = ["mqtt://127.0.0.1:9", "mqtts://b:1"]'),
     "mqtt.urls: every broker of the list must use the same scheme"),
    (GOOD.replace('url = "mqtt://127.0.0.1:9"', 'url = "mqtt://a:1"\nurls = ["mqtt://b:1"]'),
     "mqtt.urls: give either mqtt.url or mqtt.urls, not both"),
    (GOOD.replace('url = "mqtt://127.0.0.1:9"', ''), "mqtt.url: required key is missing"),
])
def test_config_error_is_one_clear_line(tmp_path: Path, text: str | None, expected: str) -> None:
    config = tmp_path / "config.toml"
    if text is not None:
        config.write_text(text)
    (tmp_path / "trust.jwks").write_text('{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", '
                                         '"x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}')
    result = run_agent(config)
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 2
    assert len(lines) == 1 and expected in lines[0] and lines[0].startswith("loa: "), lines
    assert not (tmp_path / "state").exists()  # nothing half-started: no store, no connection


def test_several_problems_are_reported_in_one_pass(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(GOOD + "\n[reports]\nheartbeat_s = 0\noutbox_rate_per_s = 'fast'\n")
    result = run_agent(config)
    out = result.stdout + result.stderr
    assert result.returncode == 2 and "reports.heartbeat_s" in out and "reports.outbox_rate_per_s" in out


@pytest.mark.parametrize("lines, brokers", [
    ('url = "mqtt://a:1"', ("mqtt://a:1",)),
    ('urls = ["mqtt://a:1", "mqtt://b:2"]', ("mqtt://a:1", "mqtt://b:2")),
])
def test_url_is_a_one_item_broker_list(tmp_path: Path, lines: str, brokers: tuple[str, ...]) -> None:
    """`urls` is the ordered broker list (first preferred); `url` keeps working as a list of one."""
    raw = tomllib.loads(GOOD.replace('url = "mqtt://127.0.0.1:9"', lines))
    assert unit.parse(raw, base_dir=tmp_path).mqtt.brokers == brokers


def test_a_repeated_or_comma_separated_broker_is_an_ordered_list(tmp_path: Path) -> None:
    """`--broker A --broker B` and `--broker A,B` give the same ordered list; the console tries them in order."""
    import argparse

    from tools.send import access_from
    from tools.user_input import JoinBrokers

    p = argparse.ArgumentParser()
    p.add_argument("--broker", default="", action=JoinBrokers)
    for flag in ("--username", "--password-file", "--ca", "--cert", "--client-key"):
        p.add_argument(flag, default="")
    for line in (["--broker", "mqtt://a:1", "--broker", "mqtt://b:2"], ["--broker", "mqtt://a:1,mqtt://b:2"]):
        access = access_from(p.parse_args(line))
        assert access.urls == ("mqtt://a:1", "mqtt://b:2")


def test_provisioning_writes_the_broker_list(tmp_path: Path, keys: Path) -> None:
    from tools.provision import UnitSpec, provision

    provision(UnitSpec(device_id="bl-1", trust=keys / "trust.jwks", broker_url="mqtt://a:1,mqtt://b:2",
                       out=tmp_path / "bl-1"))
    cfg = unit.load(tmp_path / "bl-1" / "config.toml")
    assert cfg.mqtt.brokers == ("mqtt://a:1", "mqtt://b:2")
