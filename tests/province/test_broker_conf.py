"""The generated Mosquitto configuration: every listener authenticates, whichever listeners there are."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ConfigError
from province import broker, ca


def listeners(conf: str) -> list[list[str]]:
    """The lines of each listener block (a block runs to the next `listener` line)."""
    blocks: list[list[str]] = []
    for line in conf.splitlines():
        if line.startswith("listener "):
            blocks.append([])
        if blocks:
            blocks[-1].append(line)
    return blocks


@pytest.mark.parametrize("port, tls_port", [(1883, None), (None, 8883), (1883, 8883)])
def test_no_listener_without_authentication(tmp_path: Path, port, tls_port):
    ca_dir = ca.init(tmp_path / "ca").root if tls_port else None
    conf = broker.init(tmp_path / "b", port, tls_port=tls_port, ca_dir=ca_dir).conf.read_text()
    assert "allow_anonymous false" in conf and "allow_anonymous true" not in conf
    assert ("password_file" in conf) == (port is not None)
    blocks = listeners(conf)
    assert len(blocks) == (port is not None) + (tls_port is not None)
    for block in blocks:
        tls = any(line.startswith("certfile") for line in block)
        assert not tls or {"require_certificate true", "use_identity_as_username true",
                           "use_username_as_clientid true"} <= set(block)
        assert not tls or any(line.startswith("crlfile ") for line in block)


def test_a_broker_needs_a_listener_and_tls_needs_a_ca(tmp_path: Path):
    with pytest.raises(ConfigError, match="a broker needs a listener"):
        broker.init(tmp_path / "b", None)
    with pytest.raises(ConfigError, match="--tls-port needs --ca DIR"):
        broker.init(tmp_path / "b", None, tls_port=8883)


def test_rerunning_keeps_every_identity(tmp_path: Path):
    ca_dir = ca.init(tmp_path / "ca").root
    b = broker.init(tmp_path / "b", 1883, tls_port=8883, ca_dir=ca_dir)
    before = {p: p.read_bytes() for p in (b.password_file(broker.CONSOLE), b.cert_file(broker.CONSOLE), b.server_key)}
    broker.init(tmp_path / "b", 1883, tls_port=8883, ca_dir=ca_dir)
    assert {p: p.read_bytes() for p in before} == before


def test_a_unit_name_cannot_be_a_console_or_the_broker(tmp_path: Path):
    ca_dir = ca.init(tmp_path / "ca").root
    broker.init(tmp_path / "b", None, tls_port=8883, ca_dir=ca_dir)
    broker.add_console(tmp_path / "b", "console-qa")
    for name in ("console", "console-qa", "loa-broker", "a b"):
        with pytest.raises(ConfigError, match="cannot be a broker identity"):
            broker.add_device(tmp_path / "b", name, ())
