"""`loa keys rotate`: two signed config commands move a running unit from the old signing key to the new one without
a visit, and the change survives a restart."""

from __future__ import annotations

import json
import stat
import warnings
from typing import Any

import pytest
from joserfc import jwt
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


def test_step_1_is_signed_with_the_old_key_and_carries_old_and_new(tmp_path):
    old = keys.init(tmp_path)
    old_trust = json.loads((tmp_path / keys.TRUST).read_text())
    step = keys.rotate(tmp_path, audience="grp:province", lifetime_s=600)
    claims = claims_of(step.token, old_trust)
    new = keys.load_signing(tmp_path / keys.NEXT)
    assert (claims["cmd"], claims["aud"]) == ("config", "grp:province")
    assert [k["kid"] for k in claims["args"]["trust"]["keys"]] == [old.kid, new.kid]
    assert all("d" not in k for k in claims["args"]["trust"]["keys"])
    assert stat.S_IMODE((tmp_path / keys.NEXT).stat().st_mode) == 0o600
    assert keys.load_signing(tmp_path / keys.SIGNING).kid == old.kid
    assert json.loads((tmp_path / keys.TRUST).read_text()) == claims["args"]["trust"]
    assert json.loads(step.args_file.read_text()) == claims["args"]
    assert step.token_file.read_text().strip() == step.token


def test_step_2_is_signed_with_the_new_key_carries_only_it_and_retires_the_old(tmp_path):
    old = keys.init(tmp_path)
    keys.rotate(tmp_path)
    new = keys.load_signing(tmp_path / keys.NEXT)
    step = keys.finish_rotation(tmp_path)
    assert claims_of(step.token, {"keys": [new.as_dict(private=False)]})["args"] == {
        "trust": {"keys": [new.as_dict(private=False)]}}
    assert keys.load_signing(tmp_path / keys.SIGNING).kid == new.kid
    assert not (tmp_path / keys.NEXT).exists()
    retired = tmp_path / keys.RETIRED / f"{old.kid}.jwk"
    assert keys.load_signing(retired).kid == old.kid and stat.S_IMODE(retired.stat().st_mode) == 0o600
    assert json.loads((tmp_path / keys.TRUST).read_text()) == {"keys": [new.as_dict(private=False)]}


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
