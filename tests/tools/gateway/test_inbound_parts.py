"""The inbound API's parts on their own: the token buckets, who a token or certificate is, the audit log's rotation,
gateway.toml's [inbound] (tokens only by file, every problem at once) and reading bodies through the profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ConfigError
from tests.tools.gateway.helpers import PROFILES
from tools.gateway import audit, config
from tools.gateway import inbound_fields as fields
from tools.gateway import profile as profiles
from tools.gateway.inbound_config import Credential
from tools.gateway.inbound_fields import Malformed
from tools.gateway.inbound_guard import Bucket, Guard


def test_a_bucket_gives_its_burst_then_one_call_per_period():
    now = [0.0]
    bucket = Bucket(rate_per_s=0.5, burst=2, clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] = 1.0
    assert not bucket.take()
    now[0] = 2.1
    assert bucket.take() and not bucket.take()


def credentials() -> list[Credential]:
    return [Credential("a", "token-a-0123456789", "", frozenset({"normal"}), frozenset()),
            Credential("b", "", "htttn-client", frozenset({"emergency"}), frozenset())]


def test_a_caller_is_known_by_its_token_or_its_certificate_name_only():
    guard = Guard(credentials(), rate_per_min=60, burst=5, emergency_per_hour=1, emergency_burst=1)
    assert guard.identify("Bearer token-a-0123456789", "Bearer", "") == credentials()[0]
    assert guard.identify("Bearer token-a-012345678", "Bearer", "") is None
    assert guard.identify("Token token-a-0123456789", "Bearer", "") is None  # the profile's scheme only
    assert guard.identify("", "Bearer", "htttn-client") == credentials()[1]
    assert guard.identify("Bearer ", "Bearer", "") is None  # an empty token is never a credential's
    assert guard.identify("", "Bearer", "other") is None


def test_emergencies_have_their_own_stricter_bucket():
    guard = Guard(credentials(), rate_per_min=60, burst=5, emergency_per_hour=1, emergency_burst=1)
    a = credentials()[0]
    assert guard.allow(a, emergency=True) and not guard.allow(a, emergency=True)
    assert guard.allow(a, emergency=False)  # everyday calls go on


def test_the_audit_log_rotates_and_keeps_a_bounded_number_of_files(tmp_path: Path):
    log = audit.Audit(tmp_path / "audit.jsonl", max_bytes=10_000, keep=2)
    for n in range(1000):
        log.write({"n": n, "operator": "Nguyễn Văn A"})
    log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]
    assert all(p.stat().st_size <= 10_000 for p in tmp_path.iterdir())
    assert audit.read(tmp_path / "audit.jsonl")[-1] == {"n": 999, "operator": "Nguyễn Văn A"}


def gateway_toml(tmp_path: Path, inbound: str) -> Path:
    (tmp_path / "pw").write_text("x\n")
    path = tmp_path / "gateway.toml"
    path.write_text('[htttn]\nusername = "u"\npassword_file = "pw"\n[broker]\nurl = "mqtt://127.0.0.1:1"\n'
                    + inbound, encoding="utf-8")
    return path


def test_inbound_settings_load_with_tokens_from_files(tmp_path: Path):
    (tmp_path / "t").write_text("a-long-enough-token-0123\n")
    cfg = config.load(gateway_toml(tmp_path, '[inbound]\nport = 0\n[inbound.clients.htttn]\ntoken_file = "t"\n'
                                             'areas = ["H-1"]\n[signing]\nkey = "gw.jwk"\n[areas]\nH-1 = "xa-1"\n'))
    assert cfg.inbound is not None
    assert cfg.inbound.credentials[0].token == "a-long-enough-token-0123"
    assert cfg.inbound.credentials[0].levels == frozenset({"normal", "priority"})  # emergency only when granted
    assert cfg.inbound.signing.key == str(tmp_path / "gw.jwk") and cfg.inbound.areas == {"H-1": "xa-1"}
    assert "a-long-enough-token" not in repr(cfg.inbound)


def test_every_inbound_problem_is_reported_at_once(tmp_path: Path):
    (tmp_path / "short").write_text("abc\n")
    text = ('[inbound]\nport = 70000\n[inbound.clients.a]\ntoken = "inline-secret"\n[inbound.clients.b]\n'
            'token_file = "short"\nlevels = ["urgent"]\n[inbound.clients.c]\ntoken_file = "missing"\n'
            '[areas]\nH-1 = "bad group/"\n')
    with pytest.raises(ConfigError) as err:
        config.load(gateway_toml(tmp_path, text))
    said = str(err.value)
    for key in ("inbound.port", "inbound.clients.a.token", "inbound.clients.a:", "inbound.clients.b.token_file",
                "inbound.clients.b.levels", "inbound.clients.c.token_file", "signing.key", "areas.H-1"):
        assert key in said, said
    assert "inline-secret" not in said


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_bodies_are_read_through_the_profile(name: str):
    p = profiles.load(PROFILES[name])
    f = p.api.fields
    areas = {f["target_areas"][0]: [{f["target_area_id"][0]: "H-1"}, "H-2"]}
    units = f["target_units"][0].split(".")
    assert fields.areas(p, areas) == ["H-1", "H-2"]
    assert fields.units(p, {units[0]: {units[1]: ["c1", 2]}}) == ["c1", "2"]
    assert fields.text(p, {f["cluster_id"][1]: "c9"}, "cluster_id") == "c9"  # the second spelling is tried too
    assert fields.level(p, {f["priority"][0]: p.maps["priority"]["emergency"]}) == "emergency"
    assert fields.level(p, {}) is None
    with pytest.raises(Malformed, match=f["cluster_id"][0]):
        fields.text(p, {f["cluster_id"][0]: ""}, "cluster_id")
    with pytest.raises(Malformed):
        fields.areas(p, {f["target_areas"][0]: [{"other": 1}]})
