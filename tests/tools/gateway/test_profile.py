"""The profile is data: the bundled and the renamed profile load, and a broken one is reported whole, key by key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.errors import ConfigError
from tests.conftest import REPO
from tests.tools.gateway.helpers import PROFILES
from tools.gateway import profile as profiles


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_the_bundled_and_the_renamed_profiles_load(name: str):
    p = profiles.load(PROFILES[name])
    assert set(p.bodies) == {"ping", "bulletin_log", "display_log", "schedule_log", "status_reply"}
    assert p.inbound.bulletin is not None
    assert p.api.paths and p.api.control
    assert p.maps["priority"]["emergency"] != p.maps["priority"]["normal"]


def test_the_renamed_profile_shares_no_field_or_path_with_the_default():
    default, renamed = (profiles.load(PROFILES[n]) for n in ("default", "renamed"))
    for body in default.bodies:
        assert not set(default.bodies[body]) & set(renamed.bodies[body])
    paths = ("login_path", "ping_path", "bulletin_log_path", "display_log_path", "schedule_log_path", "status_field",
             "reason_field")
    assert all(getattr(default.http, k) != getattr(renamed.http, k) for k in paths)
    assert default.inbound.bulletin and renamed.inbound.bulletin
    inbound = [(getattr(default.inbound.bulletin, k), getattr(renamed.inbound.bulletin, k))
               for k in default.inbound.bulletin.__dataclass_fields__]
    assert all(d != r for d, r in inbound if d)
    for table in ("play_mode", "schedule_kind", "origin", "schedule_action"):
        assert default.maps[table] != renamed.maps[table]
    assert default.login.token_field != renamed.login.token_field
    assert not set(default.api.paths.values()) & set(renamed.api.paths.values())
    for name, names in default.api.fields.items():
        assert not set(names) & set(renamed.api.fields[name]), name
    assert not set(default.api.control) & set(renamed.api.control)
    assert default.api.failed_value != renamed.api.failed_value


def test_a_broken_inbound_section_is_reported_key_by_key(tmp_path: Path):
    bad = PROFILES["default"].read_text(encoding="utf-8").replace(
        'control = "/api/CumLoa/DieuKhien"', 'control = "api/no-slash"\ncontrl = "/x"').replace(
        '"3" = {cmd = "ping"}', '"3" = {cmd = "config"}').replace('volume = "AmLuong"', 'volum = "AmLuong"')
    path = tmp_path / "bad.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        profiles.load(path)
    text = str(err.value)
    for key in ("inbound.paths.control", "inbound.paths.contrl", "maps.control.3", "inbound.fields.volum"):
        assert key in text, text


def test_every_problem_of_a_profile_is_reported_at_once_with_its_key(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text("""
[identity]
source_id = ""
[http]
base_url = "http://h"
login_path = "/l"
ping_path = "/p"
bulletin_log_path = "/b"
[login]
tokn_field = "x"
[ping.fields]
A = "nodot"
B = {from = "log.priority", map = "nomap"}
C = {from = "log.ts", as = "weeks"}
[bulletin_log.fields]
A = "log.title"
""", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        profiles.load(path)
    text = str(err.value)
    for key in ("identity.source_id", "http.display_log_path", "login.tokn_field", "ping.fields.A", "ping.fields.B",
                "ping.fields.C", "display_log.fields"):
        assert key in text, text
    assert "did you mean 'token_field'" in text


def test_a_broken_inbound_bulletin_table_is_reported_with_its_keys(tmp_path: Path):
    default = profiles.DEFAULT.read_text(encoding="utf-8")
    broken = default.replace('id = "BanTinId"', 'idd = "BanTinId"').replace("[maps.play_mode]", "[maps.play_modes]")
    path = tmp_path / "broken.toml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        profiles.load(path)
    text = str(err.value)
    assert "inbound.bulletin.id" in text and "did you mean 'id'" in text
    assert "play_mode" in text


def test_loa_gateway_names_its_missing_extra(tmp_path: Path):
    """An install without the [gateway] extra gets one clear line naming it, not a traceback."""
    (tmp_path / "pw").write_text("x\n")
    (tmp_path / "gateway.toml").write_text('[htttn]\nusername = "u"\npassword_file = "pw"\n[broker]\n'
                                           'url = "mqtt://127.0.0.1:1"\n[gateway]\noutbox = "o.sqlite"\n')
    hide = ("import sys; sys.modules['urllib3'] = None; from tools.cli import main; "
            f"sys.exit(main(['--lang', 'en', 'gateway', '--config', {str(tmp_path / 'gateway.toml')!r}]))")
    result = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True, cwd=REPO, timeout=60,
                            check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "loa[gateway]" in result.stdout and "Traceback" not in result.stderr
