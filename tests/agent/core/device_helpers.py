"""A device core on a fake clock, with helpers to sign commands and read the effects it returns."""

from __future__ import annotations

import json
import random
import warnings
from typing import Any

from joserfc import jws
from joserfc.jwk import OKPKey

from agent.core.device import Device, DeviceSettings, DeviceState
from agent.core.effects import Effect, Publish, SetRelay, StartTimer
from agent.core.events import LinkUp, MessageArrived, Started, TimerFired
from agent.core.topics import Topics
from agent.core.verify import Policy, load_trust

T0 = 1_800_000_000_000
KEY = OKPKey.generate_key("Ed25519", parameters={"kid": "k1"})


def make_device(trust: dict[str, Any] | None = None, **settings: Any) -> Device:
    policy = Policy(device_id="d1", groups=frozenset({"g1"}), issuers=frozenset({"province"}))
    s = DeviceSettings(device_id="d1", groups=("g1",), zones=(1, 2), version="t", policy=policy, **settings)
    device = Device(s, load_trust(trust or {"keys": [KEY.as_dict(private=False)]}), DeviceState(), random.Random(7))
    device.handle(Started(T0))
    device.handle(LinkUp(T0))
    return device


def command(cmd: str, args: dict[str, Any], jti: str, now_ms: int = T0, key: OKPKey = KEY) -> bytes:
    now = now_ms // 1000
    body = {"iss": "province", "aud": "dev:d1", "iat": now, "exp": now + 60, "jti": jti, "cmd": cmd, "args": args}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jws.serialize_compact({"alg": "EdDSA", "kid": key.kid}, json.dumps(body).encode(), key, algorithms=["EdDSA"]).encode()


def arrive(device: Device, cmd: str, args: dict[str, Any], jti: str, now_ms: int, key: OKPKey = KEY) -> list[Effect]:
    return device.handle(MessageArrived(now_ms, Topics().device_command("d1"), command(cmd, args, jti, now_ms, key)))


def fire(device: Device, name: str, now_ms: int) -> list[Effect]:
    return device.handle(TimerFired(now_ms, name))


def acks(effects: list[Effect]) -> list[tuple[str, str, str]]:
    out = []
    for e in effects:
        if isinstance(e, Publish) and e.topic.endswith("/ack"):
            body = json.loads(e.payload)
            out.append((body["jti"], body["state"], body["code"]))
    return out


def relays(effects: list[Effect]) -> list[tuple[int, bool]]:
    return [(e.zone, e.on) for e in effects if isinstance(e, SetRelay)]


def timers(effects: list[Effect]) -> dict[str, int]:
    return {e.name: e.at_ms for e in effects if isinstance(e, StartTimer)}


def statuses(effects: list[Effect]) -> list[dict[str, Any]]:
    return [json.loads(e.payload) for e in effects if isinstance(e, Publish) and e.topic.endswith("/status")]


def sound_device(**sound: Any) -> Device:
    from zoneinfo import ZoneInfo

    from agent.core.sound import SoundSettings

    defaults: dict[str, Any] = {"zones": (1, 2), "tz": ZoneInfo("Asia/Ho_Chi_Minh"), "quiet_window": None,
                                "warmup_s": 1.0, "tail_s": 2.0, "stagger_s": 0.5, "max_on_s": 600}
    return make_device(sound=SoundSettings(**(defaults | sound)))
