"""What the provincial side sends during a fault run: valid commands (pings, volume, plays and stores that
download, some from a server that damages the file), and hostile ones (every rejection code, replays of tokens
that already ran, and valid tokens mutated at random). Every command sent is recorded for the invariants.

Signs with province.keys; hostile tokens come from tests/e2e/test_hostile_commands. Imports no agent internals.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from province.keys import sign_command
from tests.e2e.test_hostile_commands import hostile_inputs
from tests.fault.rig import Rig
from tests.fault.unit import FaultUnit

VALID_MIX = (("ping", 40), ("volume", 15), ("play", 30), ("store", 15))
TITLE = "Bản tin thử nghiệm: phòng chống lũ quét"


@dataclass
class Sent:
    jti: str | None
    cmd: str
    kind: str  # valid, hostile, replay, fuzz
    token: bytes
    args: dict[str, Any] = field(default_factory=dict)
    damaged: bool = False  # a play or store whose file the server damages: it must never sound


class Traffic:
    def __init__(self, rig: Rig, unit: FaultUnit, rng: random.Random, *, time_hostile: bool = True,
                 emergencies: bool = True) -> None:
        """`time_hostile`: also send expired and not-yet-valid tokens (not in clock runs, where the unit's own clock
        is wrong on purpose and may rightly take such a token for a valid one). `emergencies`: False in runs that
        time their own emergencies (one behind another waits, rightly)."""
        self.rig, self.unit, self.rng = rig, unit, rng
        self.time_hostile, self.emergencies = time_hostile, emergencies
        self.sent: list[Sent] = []
        self.topic = f"loa/v1/dev/{unit.device_id}/cmd"
        self._hostile: list[tuple[str, bytes]] = []
        self._stop = threading.Event()
        self._n = 0

    def publish(self, s: Sent) -> Sent:
        self.sent.append(s)
        self.rig.recorder.publish(self.topic, s.token)
        return s

    # ---- valid commands ------------------------------------------------------------------------------------

    def valid(self, cmd: str, args: dict[str, Any], damaged: bool = False) -> Sent:
        token, jti = sign_command(self.rig.signing, f"dev:{self.unit.device_id}", cmd, args, lifetime_s=600)
        return self.publish(Sent(jti, cmd, "valid", token.encode(), args, damaged))

    def random_valid(self) -> Sent:
        cmd = self.rng.choices([c for c, _ in VALID_MIX], [w for _, w in VALID_MIX])[0]
        if cmd == "ping":
            return self.valid("ping", {})
        if cmd == "volume":
            return self.valid("volume", {"volume_pct": self.rng.randrange(10, 91)})
        name, sha, damaged = self._file()
        source = {"url": self.unit.url(name), "sha256": sha}
        if cmd == "store":
            return self.valid("store", {"id": f"s{self.rng.randrange(5)}", **source, "pin": self.rng.random() < 0.3},
                              damaged)
        priority = self.rng.choice(("normal", "normal", "priority", "emergency" if self.emergencies else "normal"))
        return self.valid("play", {"source": source, "priority": priority, "repeat": self.rng.choice((1, 1, 1, 2)),
                                   "title": TITLE}, damaged)

    def _file(self) -> tuple[str, str, bool]:
        media = self.rig.media
        if self.rng.random() < 0.2:
            name = self.rng.choice(sorted(media.damaged))
            return name, media.damaged[name], True
        name = self.rng.choice(sorted(media.good))
        return name, media.good[name], False

    # ---- hostile commands ----------------------------------------------------------------------------------

    def hostile(self) -> Sent:
        roll = self.rng.random()
        if roll < 0.15 and self._accepted_tokens():
            return self.publish(Sent(None, "?", "replay", self.rng.choice(self._accepted_tokens())))
        if roll < 0.45:
            return self.publish(Sent(None, "?", "fuzz", self._mutated()))
        if not self._hostile:
            self._hostile = [(code, p if isinstance(p, bytes) else p.encode())
                             for code, (_, p) in hostile_inputs(self.unit.device_id, self.rig.keys).items()
                             if self.time_hostile or code not in ("expired", "not_yet_valid")]
            self.rng.shuffle(self._hostile)
        code, payload = self._hostile.pop()
        return self.publish(Sent(None, code, "hostile", payload))

    def _accepted_tokens(self) -> list[bytes]:
        return [s.token for s in self.sent[-200:] if s.kind == "valid" and s.cmd in ("ping", "volume")]

    def _mutated(self) -> bytes:
        """A valid token (never published as it is) with random damage: flipped bits, cuts, inserted bytes."""
        token = bytearray(sign_command(self.rig.signing, f"dev:{self.unit.device_id}", "relay",
                                       {"zone": 1, "on": True, "for_s": 30})[0].encode())
        for _ in range(self.rng.randrange(1, 4)):
            at = self.rng.randrange(len(token))
            kind = self.rng.randrange(3)
            if kind == 0:
                token[at] ^= 1 << self.rng.randrange(8)
            elif kind == 1:
                del token[at:at + self.rng.randrange(1, 20)]
            else:
                token[at:at] = bytes(self.rng.getrandbits(8) for _ in range(self.rng.randrange(1, 8)))
        return bytes(token)

    # ---- a steady flow in the background -------------------------------------------------------------------

    def run(self, gap_s: tuple[float, float], hostile_share: float) -> threading.Thread:
        def loop() -> None:
            while not self._stop.wait(self.rng.uniform(*gap_s)):
                self.hostile() if self.rng.random() < hostile_share else self.random_valid()

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        return thread

    def storm(self, count: int) -> None:
        """Hostile commands as fast as the broker takes them, with a few valid pings among them."""
        for i in range(count):
            self.hostile()
            if i % 100 == 50:
                self.valid("ping", {})

    def stop(self) -> None:
        self._stop.set()

    def counts(self) -> dict[str, int]:
        kinds = [s.kind for s in self.sent]
        return {k: kinds.count(k) for k in ("valid", "hostile", "replay", "fuzz")}
