"""`loa keys init` makes a console key and an offline root key; `loa keys rotate`: two config commands, signed with
the root key, move a running unit from the old signing key to the new one without a visit, and the change survives
a restart; `loa keys adopt-root` gives a key folder from before scopes its root."""

from __future__ import annotations

import json
import stat
import warnings
from typing import Any

import pytest
from joserfc import jws, jwt
from joserfc.jwk import KeySet, KeySetSerialization, OKPKey

from agent.errors import ConfigError
from province import keys
from province.console import Console
from tests.conftest import Broker, Unit
from tests.e2e.link_helpers import UnitWatch
from tools.provision import UnitSpec, provision

DONE = {"finished", "rejected", "failed"}


def claims_of(token: str, trust: KeySetSerialization) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc prefers the name "Ed25519"; "EdDSA" is what units and servers use
        return dict(jwt.decode(token, KeySet.import_key_set(trust), algorithms=["EdDSA"]).claims)


def header_kid(token: str) -> str:
    return str(jws.extract_compact(token.encode()).headers()["kid"])


def scopes_of(trust: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k["kid"], k["loa_scope"]) for k in trust["keys"]]


def test_init_makes_a_console_key_and_an_offline_root_kept_apart(tmp_path):
    console = keys.init(tmp_path)
    root = keys.load_root(tmp_path / keys.ROOT)
    assert root.kid != console.kid and (tmp_path / keys.ROOT).parent != tmp_path
    assert stat.S_IMODE((tmp_path / keys.ROOT).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / keys.ROOT).parent.stat().st_mode) == 0o700
    trust = json.loads((tmp_path / keys.TRUST).read_text())
    assert scopes_of(trust) == [(root.kid, "root"), (console.kid, "console")]
    assert all("d" not in k for k in trust["keys"])
    with pytest.raises(ConfigError, match="already exists"):
        keys.init(tmp_path)


def test_step_1_is_signed_with_the_root_key_and_carries_root_old_and_new(tmp_path):
    old = keys.init(tmp_path)
    root = keys.load_root(tmp_path / keys.ROOT)
    old_trust = json.loads((tmp_path / keys.TRUST).read_text())
    step = keys.rotate(tmp_path, audience="grp:province", lifetime_s=600)
    claims = claims_of(step.token, old_trust)
    new = keys.load_signing(tmp_path / keys.NEXT)
    assert header_kid(step.token) == root.kid
    assert (claims["cmd"], claims["aud"]) == ("config", "grp:province")
    assert scopes_of(claims["args"]["trust"]) == [(root.kid, "root"), (old.kid, "console"), (new.kid, "console")]
    assert all("d" not in k for k in claims["args"]["trust"]["keys"])
    assert stat.S_IMODE((tmp_path / keys.NEXT).stat().st_mode) == 0o600
    assert keys.load_signing(tmp_path / keys.SIGNING).kid == old.kid
    assert json.loads((tmp_path / keys.TRUST).read_text()) == claims["args"]["trust"]
    assert json.loads(step.args_file.read_text()) == claims["args"]
    assert step.token_file.read_text().strip() == step.token


def test_step_2_is_signed_with_the_root_key_carries_root_and_new_and_retires_the_old(tmp_path):
    old = keys.init(tmp_path)
    root = keys.load_root(tmp_path / keys.ROOT)
    keys.rotate(tmp_path)
    new = keys.load_signing(tmp_path / keys.NEXT)
    step = keys.finish_rotation(tmp_path)
    assert header_kid(step.token) == root.kid
    trust = claims_of(step.token, {"keys": [root.as_dict(private=False)]})["args"]["trust"]
    assert scopes_of(trust) == [(root.kid, "root"), (new.kid, "console")]
    assert keys.load_signing(tmp_path / keys.SIGNING).kid == new.kid
    assert not (tmp_path / keys.NEXT).exists()
    retired = tmp_path / keys.RETIRED / f"{old.kid}.jwk"
    assert keys.load_signing(retired).kid == old.kid and stat.S_IMODE(retired.stat().st_mode) == 0o600
    assert json.loads((tmp_path / keys.TRUST).read_text()) == trust


def test_a_rotation_needs_the_root_key_from_wherever_it_is_kept(tmp_path):
    keys.init(tmp_path / "k")
    offline = tmp_path / "usb" / "root.jwk"
    offline.parent.mkdir()
    (tmp_path / "k" / keys.ROOT).rename(offline)
    with pytest.raises(ConfigError, match="root key is needed"):
        keys.rotate(tmp_path / "k")
    assert not (tmp_path / "k" / keys.NEXT).exists()  # nothing changed
    assert keys.rotate(tmp_path / "k", root=offline).step == 1


def test_a_key_folder_from_before_scopes_adopts_a_root_with_one_console_signed_step(tmp_path):
    console = keys.init(tmp_path)
    (tmp_path / keys.ROOT).unlink()  # what `loa keys init` made before scopes: a console key, an unscoped trust set
    (tmp_path / keys.TRUST).write_text(json.dumps({"keys": [console.as_dict(private=False)]}))
    step = keys.adopt_root(tmp_path, audience="grp:province")
    root = keys.load_root(tmp_path / keys.ROOT)
    assert header_kid(step.token) == console.kid and step.token_file.name == "adopt-root.jwt"
    assert scopes_of(claims_of(step.token, {"keys": [console.as_dict(private=False)]})["args"]["trust"]) == [
        (root.kid, "root"), (console.kid, "console")]
    with pytest.raises(ConfigError, match="has its root key"):
        keys.adopt_root(tmp_path)


def test_a_gateway_key_is_added_by_the_root_with_its_grants_and_survives_a_rotation(tmp_path):
    console = keys.init(tmp_path)
    root = keys.load_root(tmp_path / keys.ROOT)
    step = keys.add_gateway(tmp_path, "httn-1", groups=("xa-a",), levels=("normal", "priority"))
    gateway = keys.load_signing(tmp_path / keys.GATEWAYS / "httn-1.jwk")
    assert stat.S_IMODE((tmp_path / keys.GATEWAYS / "httn-1.jwk").stat().st_mode) == 0o600
    assert header_kid(step.token) == root.kid and step.token_file.name == "gateway-httn-1.jwt"
    trust = claims_of(step.token, {"keys": [root.as_dict(private=False)]})["args"]["trust"]
    assert scopes_of(trust) == [(root.kid, "root"), (console.kid, "console"), (gateway.kid, "gateway")]
    assert (trust["keys"][2]["loa_groups"], trust["keys"][2]["loa_levels"]) == (["xa-a"], ["normal", "priority"])
    keys.rotate(tmp_path)
    keys.finish_rotation(tmp_path)
    after = json.loads((tmp_path / keys.TRUST).read_text())
    assert [k for k in after["keys"] if k["loa_scope"] == "gateway"] == [trust["keys"][2]]
    with pytest.raises(ConfigError, match="lower-case"):
        keys.add_gateway(tmp_path, "../../etc")
    with pytest.raises(ConfigError, match="may only name"):
        keys.add_gateway(tmp_path, "httn-2", levels=("urgent",))


def test_a_rotation_cannot_start_twice_or_finish_before_it_starts(tmp_path):
    keys.init(tmp_path)
    with pytest.raises(ConfigError, match="no rotation under way"):
        keys.finish_rotation(tmp_path)
    keys.rotate(tmp_path)
    with pytest.raises(ConfigError, match="a rotation is under way"):
        keys.rotate(tmp_path)


def test_a_running_unit_follows_a_rotation_and_keeps_it_after_a_restart(broker: Broker, console: Console, tmp_path):
    key_dir = tmp_path / "keys"
    old = keys.init(key_dir)
    provision(UnitSpec("rot-1", key_dir / keys.TRUST, broker.url, tmp_path / "rot-1", groups=("xa-r",),
                       broker_dir=broker.dir))
    unit = Unit("rot-1", tmp_path / "rot-1")
    watch = UnitWatch(console, unit)
    unit.start()
    try:
        watch.wait_online()
        step1 = keys.rotate(key_dir, audience="dev:rot-1")
        new = keys.load_signing(key_dir / keys.NEXT)
        assert final_state(watch, step1.token, step1.jti) == "finished"
        assert final_state(watch, *ping(new)) == "finished"  # now both keys are trusted
        assert final_state(watch, *ping(old)) == "finished"
        step2 = keys.finish_rotation(key_dir, audience="dev:rot-1")
        assert final_state(watch, step2.token, step2.jti) == "finished"
        unit.stop()
        unit.start()
        watch.pump(10, lambda: sum(1 for m in watch.of("status") if m.get("online")) >= 2)
        assert final_state(watch, *ping(new)) == "finished"
        token, jti = ping(old)
        assert final_state(watch, token, jti) == "rejected"
        assert watch.acks(jti)[-1]["code"] == "unknown_key"
    finally:
        unit.stop()


def ping(key: OKPKey) -> tuple[str, str]:
    return keys.sign_command(key, "dev:rot-1", "ping", {})


def final_state(watch: UnitWatch, token: str, jti: str) -> str:
    watch.publish_raw(token)
    states = watch.wait_acks(jti, DONE)
    assert states, watch.unit.output()
    return states[-1]


def test_a_unit_from_before_scopes_adopts_the_root_once_then_only_the_root_changes_its_trust(
        broker: Broker, console: Console, tmp_path):
    key_dir = tmp_path / "keys"
    signing = keys.init(key_dir)
    (key_dir / keys.ROOT).unlink()  # a key folder and a unit provisioned before scopes
    (key_dir / keys.TRUST).write_text(json.dumps({"keys": [signing.as_dict(private=False)]}))
    provision(UnitSpec("old-1", key_dir / keys.TRUST, broker.url, tmp_path / "old-1", broker_dir=broker.dir))
    unit = Unit("old-1", tmp_path / "old-1")
    watch = UnitWatch(console, unit)
    unit.start()
    try:
        watch.wait_online()
        adopt = keys.adopt_root(key_dir, audience="dev:old-1")
        assert final_state(watch, adopt.token, adopt.jti) == "finished"
        again, jti = keys.sign_command(signing, "dev:old-1", "config", {"trust": adopt.trust})
        assert final_state(watch, again, jti) == "rejected"  # adoption happens once: now a console key
        assert watch.acks(jti)[-1]["code"] == "not_allowed"
        step1 = keys.rotate(key_dir, audience="dev:old-1")
        assert final_state(watch, step1.token, step1.jti) == "finished"
        assert final_state(watch, *keys.sign_command(signing, "dev:old-1", "ping", {})) == "finished"
    finally:
        unit.stop()
