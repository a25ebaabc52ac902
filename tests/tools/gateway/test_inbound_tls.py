"""The inbound API over TLS with client certificates (gateway.toml [inbound] cert, key, client_ca): a caller is known
by its certificate's name; without a certificate from that CA there is no call at all."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from province import ca
from tests.conftest import Broker
from tests.tools.gateway.helpers import PROFILES, Htttn, gateway_config, start_gateway
from tests.tools.gateway.inbound_helpers import gateway_keys, with_inbound


def test_a_caller_is_known_by_its_client_certificate(broker: Broker, tmp_path: Path):
    authority = ca.init(tmp_path / "ca")
    ca.issue(authority, "gateway-api", "server", tmp_path / "server.key", tmp_path / "server.pem", hosts=("127.0.0.1",))
    ca.issue(authority, "htttn-client", "console", tmp_path / "client.key", tmp_path / "client.pem")
    keys = gateway_keys(tmp_path / "keys")
    profile = PROFILES["default"]
    config = gateway_config(tmp_path, broker, Htttn(tmp_path, profile))
    inbound = with_inbound(config, keys, profile, cert=str(tmp_path / "server.pem"), key=str(tmp_path / "server.key"),
                           client_ca=str(tmp_path / "ca" / ca.CA_CERT))
    config.write_text(config.read_text(encoding="utf-8").replace(
        'token_file = "htttn.token"', 'cert_name = "htttn-client"'), encoding="utf-8")
    gateway = start_gateway(tmp_path, config)
    p = inbound.profile
    url = f"https://127.0.0.1:{inbound.port}{p.api.paths['status']}"
    data = json.dumps({p.api.fields["cluster_id"][0]: "no-such-unit"}).encode()

    def call(context: ssl.SSLContext) -> int:
        req = urllib.request.Request(url, data, {"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10, context=context) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    try:
        with_cert = ssl.create_default_context(cafile=str(tmp_path / "ca" / ca.CA_CERT))
        with_cert.load_cert_chain(str(tmp_path / "client.pem"), str(tmp_path / "client.key"))
        assert call(with_cert) == 404  # authenticated by its certificate alone: the unit is what is unknown
        without = ssl.create_default_context(cafile=str(tmp_path / "ca" / ca.CA_CERT))
        with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
            call(without)
        assert "Traceback" not in gateway.output()
    finally:
        assert gateway.stop() == 0, gateway.output()
