"""The gateway on a TLS broker under its own broker identity (a console certificate of its own, `loa ca console`),
not the console's: a unit with its own certificate pings the HTTTN through it."""

from __future__ import annotations

import signal
from pathlib import Path

from agent.core.device import offline_status
from province import broker as broker_tool
from province import ca
from tests.conftest import TlsBroker, Unit, wait_until
from tests.tools.gateway.helpers import PROFILES, Htttn, gateway_config, start_gateway
from tests.tools.test_tls_broker import T, console_probe, make


def clear_offline_status(tls_broker: TlsBroker, device: str) -> None:
    """The session's TLS broker is shared: once the unit's will (offline) is retained, clear it, so later tests that
    read every status see only their own units."""
    probe = console_probe(tls_broker)
    topic = T.report(device, "status")
    try:
        probe.subscribe(topic)
        assert wait_until(lambda: offline_status() in [p for _, p in probe.received(topic, timeout=0.5)], 10)
        probe.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
    finally:
        probe.close()


def test_the_gateway_reads_units_under_its_own_certificate(tls_broker: TlsBroker, keys: Path, tmp_path: Path):
    cert = broker_tool.add_console(tls_broker.dir, "gateway-test")
    unit = Unit("ugw", make(tls_broker, keys, tmp_path, "ugw", ("xa-tls", "province")))
    htttn = Htttn(tmp_path, PROFILES["default"])
    htttn.start()
    identity = {"url": tls_broker.url, "ca": str(tls_broker.ca_dir / ca.CA_CERT), "cert": str(cert),
                "key": str(cert.with_suffix(".key")), "client_id": "gateway-test"}
    gateway = None
    try:
        unit.start()
        gateway = start_gateway(tmp_path, gateway_config(tmp_path, tls_broker, htttn, identity))
        assert wait_until(lambda: htttn.get("/emulator/indicator")["connected"] == 1, 20), gateway.output()
        assert htttn.get("/emulator/clusters")[0]["area"] == "xa-tls"
    finally:
        if gateway:
            gateway.stop()
        unit.stop(signal.SIGKILL)
        clear_offline_status(tls_broker, "ugw")
        htttn.stop()
