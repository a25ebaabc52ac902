"""Fuzz targets shared by the hypothesis tests (tests/fuzz/test_fuzz.py) and the coverage-guided harnesses
(tests/fuzz/atheris_*.py): each takes one input as bytes and raises AssertionError (or any exception) only when the
code under test breaks a property. The documented refusals (Rejection, ConfigError, Problem, BundleError) are fine.

The first byte of an input picks a mode, so that one byte string reaches past the signature: raw bytes as a token;
a JSON object signed as the claims; a JSON object signed as the args of a known command.
"""

from __future__ import annotations

import json
import random
import tempfile
import tomllib
import warnings
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from joserfc import jws
from joserfc.jwk import OKPKey

from agent.adapters.system.release_bundle import BundleError, read_bundle, unpack_payload
from agent.config import unit as config
from agent.core import release, schedule
from agent.core.device import Device, DeviceSettings, DeviceState
from agent.core.effects import Effect, PlayAudio, Prepare, Publish, SetRelay
from agent.core.events import LinkUp, MessageArrived, Started
from agent.core.schemas import known_commands, validator
from agent.core.sound import SoundSettings
from agent.core.topics import Target, Topics
from agent.core.update import BootInfo, UpdateSettings
from agent.core.verify import Command, Policy, Rejection, load_trust, verify
from agent.errors import ConfigError

T0 = 1_800_000_000_000


def fixed_key(seed: int, kid: str) -> OKPKey:
    """The same key in every process, so that signed seeds in tests/fuzz/corpus stay valid."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return OKPKey.import_key(Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32), parameters={"kid": kid})


KEY = fixed_key(1, "fuzz-cmd")
RELEASE_KEY = fixed_key(2, "fuzz-rel")
TRUST = load_trust({"keys": [KEY.as_dict(private=False)]})
RELEASE_TRUST = load_trust({"keys": [RELEASE_KEY.as_dict(private=False)]})
POLICY = Policy(device_id="d1", groups=frozenset({"g1"}), issuers=frozenset({"province"}))
TOPIC = Topics().device_command("d1")
COMMANDS = sorted(known_commands())
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ACK = validator("ack")


def sign(key: OKPKey, claims: Any) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jws.serialize_compact({"alg": "EdDSA", "kid": key.kid}, json.dumps(claims), key,
                                     algorithms=["EdDSA"]).encode()


def as_json(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


# ---- commands: the decoder and the device's message handling ----------------------------------------------


class Unit:
    """One device core kept across inputs (state carries over, as on a unit), renewed every 400 inputs."""

    def __init__(self) -> None:
        self.n, self.device = 0, self._fresh()

    @staticmethod
    def _fresh() -> Device:
        sound = SoundSettings(zones=(1, 2), tz=TZ, quiet_window=(22 * 60, 5 * 60), warmup_s=1, tail_s=1, stagger_s=0.5)
        update = UpdateSettings(trust=RELEASE_TRUST, boot=BootInfo(supervised=True))
        settings = DeviceSettings(device_id="d1", groups=("g1",), zones=(1, 2), version="0.1.0", policy=POLICY,
                                  sound=sound, update=update)
        device = Device(settings, TRUST, DeviceState(), random.Random(1))
        device.handle(Started(T0))
        device.handle(LinkUp(T0))
        return device

    def handle(self, payload: bytes) -> list[Effect]:
        self.n += 1
        if self.n % 400 == 0:
            self.device = self._fresh()
        return self.device.handle(MessageArrived(T0 + self.n, TOPIC, payload))


UNIT = Unit()


def claims_for(cmd: str, args: Any, n: int) -> dict[str, Any]:
    now = (T0 + n) // 1000
    return {"iss": "province", "aud": "dev:d1", "iat": now, "exp": now + 60, "jti": f"fz-{n}", "cmd": cmd,
            "args": args}


def command(data: bytes) -> None:
    """Mode 0: raw token; 1: JSON signed as the claims; 2: JSON signed as the args of command data[1]."""
    mode, body = (data[0] % 3, data[1:]) if data else (0, b"")
    if mode == 0:
        token = body
    elif mode == 1:
        token = sign(KEY, as_json(body))
    else:
        cmd, args = COMMANDS[body[0] % len(COMMANDS)] if body else "ping", as_json(body[1:])
        token = sign(KEY, claims_for(cmd, args, UNIT.n))
    result = verify(token, target=Target("dev", "d1"), retained=False, now_s=(T0 + UNIT.n + 1) // 1000,
                    clock_synced=True, seen={}, keys=TRUST, policy=POLICY)
    assert isinstance(result, (Command, Rejection)), result
    check_effects(UNIT.handle(token), verified=isinstance(result, Command))


def check_effects(effects: list[Effect], verified: bool) -> None:
    for e in effects:
        if not verified:  # what the decoder refuses must never sound, switch or fetch anything
            assert not (isinstance(e, SetRelay) and e.on), e
            assert not isinstance(e, (Prepare, PlayAudio)), e
        if isinstance(e, Publish) and e.topic.endswith("/ack"):
            body = json.loads(e.payload)
            errors = [err.message for err in ACK.iter_errors(body)]
            assert not errors, (errors, body)


# ---- configuration -----------------------------------------------------------------------------------------


def config_text(data: bytes) -> None:
    """A config file's bytes: TOML errors and ConfigError are the only refusals; every error line names a key."""
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return
    config_dict(raw)


def config_dict(raw: dict[str, Any]) -> None:
    """Parsed, or refused with one line per problem, each naming its key."""
    try:
        config.parse(raw)
    except ConfigError as exc:
        lines = str(exc).splitlines()
        assert lines and all(":" in line for line in lines), str(exc)


# ---- schedules ---------------------------------------------------------------------------------------------


SCHEDULE = validator("cmd-schedule")


def schedule_args(args: Any) -> None:
    """Slots that pass the schema parse, and their next start and quiet-hours check are computed without error."""
    if not isinstance(args, dict) or next(iter(SCHEDULE.iter_errors(args)), None) is not None:
        return
    slots = schedule.parse_slots(args["slots"])
    assert len(slots) == len(args["slots"])
    for after in (T0, T0 + 86_400_000 * 3 + 12345):
        found = schedule.next_start(slots, after, TZ)
        assert found is None or (found[0] > after and found[1])
    schedule.quiet_conflict(slots, (22 * 60, 5 * 60))
    check_effects(UNIT.handle(sign(KEY, claims_for("schedule", args, UNIT.n))), verified=True)


def schedule_bytes(data: bytes) -> None:
    schedule_args(as_json(data))


# ---- downloaded release metadata and bundles -------------------------------------------------------------------


def release_input(data: bytes) -> None:
    """Mode 0: raw bytes as release.jwt; 1: JSON signed by the release key as its claims; 2: bytes as a bundle."""
    mode, body = (data[0] % 3, data[1:]) if data else (0, b"")
    if mode == 2:
        bundle_bytes(body)
        return
    token = body if mode == 0 else sign(RELEASE_KEY, as_json(body))
    meta = release.read_release(token, RELEASE_TRUST)
    assert isinstance(meta, (release.ReleaseMeta, release.Problem)), meta
    if isinstance(meta, release.ReleaseMeta):
        release.check_release(meta, now_s=T0 // 1000, floor="0.1.0")
        release.check_payload(meta, "0" * 64, 1)
    else:
        assert mode == 1 or meta.code in ("release_corrupt", "release_unknown_key", "release_bad_signature"), meta


def bundle_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.bundle"
        path.write_bytes(data)
        try:
            read_bundle(path)
            unpack_payload(path, Path(tmp) / "out", max_bytes=1 << 20)
        except BundleError:
            return
        outside = [p for p in Path(tmp).rglob("*") if p != path and not p.is_relative_to(Path(tmp) / "out")]
        assert not outside, outside
