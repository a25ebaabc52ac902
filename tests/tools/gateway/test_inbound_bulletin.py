"""A bulletin from the emulated HTTTN through the gateway's inbound HTTP API to a real unit and back: the emulator's
sending side posts it (its own token, granted emergencies), the real gateway process fetches and hashes the media,
signs with its own scoped key, the unit plays it at once, and the bulletin log reaches the emulator."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from province import keys as key_tool
from province.console import Console
from tests.conftest import Broker, wait_until
from tests.e2e.link_helpers import UnitWatch
from tests.e2e.sound_helpers import FAST_POWER
from tests.tools.gateway.bulletin_helpers import bulletin_body
from tests.tools.gateway.helpers import PROFILES, Htttn, gateway_config, start_gateway
from tests.tools.gateway.inbound_helpers import Caller, with_inbound
from tools.gateway import audit
from tools.gateway.emulator_send import via_emulator

KEY = "htttn-khan-cap"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Units of this module trust a gateway key the province granted every level, on the groups of this module."""
    root = tmp_path_factory.mktemp("gateway-keys-all")
    key_tool.init(root)
    key_tool.add_gateway(root, KEY, levels=("normal", "priority", "emergency"))
    return root


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_an_emergency_from_the_emulator_plays_on_the_unit_and_its_log_comes_back(
        name: str, make_unit, console: Console, broker: Broker, keys: Path, http_server, media, tmp_path: Path):
    area = f"xa-kc-{os.getpid()}-{time.monotonic_ns() % 100000}"
    unit = make_unit(groups=(area, "province"), audio={"output": "null", "quiet_hours": "off", **FAST_POWER})
    watch = UnitWatch(console, unit)
    watch.wait_online()
    htttn = Htttn(tmp_path, PROFILES[name])
    config = gateway_config(tmp_path, broker, htttn)
    khan_cap = Caller("khan-cap", "kc-" + "x" * 30, ("normal", "priority", "emergency"))
    api = with_inbound(config, keys, PROFILES[name], callers=(khan_cap,), areas={"H-KC": area})
    config.write_text(config.read_text(encoding="utf-8").replace("htttn-test.jwk", f"{KEY}.jwk"), encoding="utf-8")
    gateway = start_gateway(tmp_path, config)
    htttn.start("--gateway-url", api.url, "--gateway-token-file", str(tmp_path / "khan-cap.token"))
    try:
        http_server.routes.files["kc.mp3"] = media["mp3"].read_bytes()
        body = bulletin_body(api.profile, id="KC-2026-1", areas=["H-KC"], media=http_server.url("/files/kc.mp3"),
                             priority="emergency", title="Cảnh báo lũ quét")
        (play,) = via_emulator(htttn.url, "bulletin", body, operator="Trực ban PCTT")
        assert watch.wait_acks(play, {"started", "failed", "rejected"}, 20)[-1] == "started", watch.unit.output()
        assert wait_until(lambda: htttn.logs(), 30), gateway.output()
        log = htttn.logs()[0]["body"]
        assert "KC-2026-1" in log.values()  # BanTinID, whatever the dialect calls it
        record = next(r for r in audit.read(api.audit) if r["operation"] == "bulletin")
        assert (record["client"], record["operator"], record["level"], record["jtis"]) == (
            "khan-cap", "Trực ban PCTT", "emergency", [play])
    finally:
        htttn.stop()
        gateway.stop()
