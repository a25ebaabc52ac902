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
def test_no_listener_without_authentication_and_no_unit_chooses_its_client_id(tmp_path: Path, port, tls_port):
    ca_dir = ca.init(tmp_path / "ca").root if tls_port else None
    b = broker.init(tmp_path / "b", port, tls_port=tls_port, ca_dir=ca_dir)
    conf = b.conf.read_text()
    assert "allow_anonymous true" not in conf and "per_listener_settings true" in conf
    assert f"max_packet_size {512 * 1024}" in conf.splitlines()
    assert ("password_file" in conf) == (port is not None)
    blocks = listeners(conf)
    assert len(blocks) == 2 * (port is not None) + (tls_port is not None)  # units' and consoles' password listeners
    for block in blocks:
        assert "allow_anonymous false" in block and f"acl_file {b.acl}" in block
        tls = any(line.startswith("certfile") for line in block)
        assert not tls or {"require_certificate true", "use_identity_as_username true"} <= set(block)
        assert not tls or any(line.startswith("crlfile ") for line in block)
        consoles_only = f"password_file {b.console_passwd}" in block
        assert consoles_only or "use_username_as_clientid true" in block  # units never choose their client id
    if port is not None:
        assert [ln.split(":")[0] for ln in b.console_passwd.read_text().splitlines()] == [broker.CONSOLE]
        assert broker.CONSOLE not in b.passwd.read_text() if b.passwd.exists() else True


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
