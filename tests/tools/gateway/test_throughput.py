"""A province's pings are routine: 4,911 clusters' pings (one period's worth, 82 a second over 60 s) go through the
outbox, the senders and real HTTP into the emulator within one period (measured: about 15 s on an idle 2-core
machine with the emulator on the same machine)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.tools.gateway.helpers import PASSWORD, PROFILES, USER, Htttn
from tools.gateway import profile as profiles
from tools.gateway.north import North
from tools.gateway.outbox import Outbox
from tools.gateway.sender import Senders

PROVINCE = 4911


@pytest.mark.slow
def test_one_period_of_pings_for_a_province_is_sent_within_the_period(tmp_path: Path):
    htttn = Htttn(tmp_path, PROFILES["default"])
    htttn.start()
    profile = profiles.load(htttn.profile)
    box = Outbox(tmp_path / "outbox.sqlite")
    north = North(profile, htttn.url, {"": (USER, PASSWORD)}, concurrency=16)
    said: list[str] = []
    senders = Senders(box, north, lambda key, **_: said.append(key), concurrency=16, backoff_base_s=0.2,
                      backoff_cap_s=1.0)
    try:
        for n in range(PROVINCE):
            box.put_ping(f"ping:u{n}", "", {"CumLoaID": f"u{n:04d}", "DichID": f"xa-{n // 40}", "AmLuong": 70})
        start = time.monotonic()
        senders.start()
        assert wait_until(lambda: box.counts().get("sent ping") == PROVINCE, 60, step=0.5), box.counts()
        took = time.monotonic() - start
        assert htttn.get("/emulator/indicator")["total"] == PROVINCE
    finally:
        senders.close()
        north.close()
        htttn.stop()
    assert took < 60, f"{PROVINCE} pings took {took:.1f} s: the gateway cannot keep up with one ping a minute each"
    assert said == []  # neither down nor refused
    print(f"{PROVINCE} pings in {took:.1f} s ({PROVINCE / took:.0f}/s)")
