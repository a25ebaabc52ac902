"""Where the profile says each cluster logs in itself, the gateway logs in with that cluster's own credentials (from
the clusters file) and carries its pings and logs with its own token; a cluster without credentials is refused."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from province.localnet import free_port
from tests.conftest import wait_until
from tools.gateway import config
from tools.gateway import profile as profiles
from tools.gateway.emulator import Emulator
from tools.gateway.north import LoginFailed, North, Outcome
from tools.gateway.outbox import Outbox
from tools.gateway.sender import Senders


def per_cluster_profile(tmp_path: Path) -> Path:
    path = tmp_path / "per-cluster.toml"
    path.write_text(profiles.DEFAULT.read_text(encoding="utf-8").replace("per_cluster = false", "per_cluster = true"),
                    encoding="utf-8")
    return path


def test_each_cluster_logs_in_with_its_own_credentials(tmp_path: Path):
    profile_path = per_cluster_profile(tmp_path)
    (tmp_path / "clusters.toml").write_text('[u1]\nusername = "IMEI-861"\npassword = "p1"\n', encoding="utf-8")
    (tmp_path / "gateway.toml").write_text(f'[htttn]\nprofile = "{profile_path}"\nclusters_file = "clusters.toml"\n'
                                           '[broker]\nurl = "mqtt://127.0.0.1:1"\n', encoding="utf-8")
    cfg = config.load(tmp_path / "gateway.toml")
    assert cfg.credentials == {"u1": ("IMEI-861", "p1")}
    emulator = Emulator(cfg.profile, {"IMEI-861": "p1"}, tmp_path / "htttn.sqlite", free_port())
    threading.Thread(target=emulator.serve, daemon=True).start()
    north = North(cfg.profile, f"http://127.0.0.1:{emulator.server.server_port}", cfg.credentials, concurrency=2)
    try:
        result = north.post(cfg.profile.http.ping_path, {"CumLoaID": "u1", "DichID": "xa"}, "u1")
        assert result.outcome is Outcome.TAKEN, result
        assert emulator.store.logins() == {"IMEI-861": 1}
        with pytest.raises(LoginFailed):
            north.post(cfg.profile.http.ping_path, {"CumLoaID": "u2"}, "u2")
    finally:
        north.close()
        emulator.close()


def test_a_per_cluster_profile_without_a_clusters_file_is_a_config_error(tmp_path: Path):
    (tmp_path / "gateway.toml").write_text(f'[htttn]\nprofile = "{per_cluster_profile(tmp_path)}"\n'
                                           '[broker]\nurl = "mqtt://127.0.0.1:1"\n', encoding="utf-8")
    with pytest.raises(Exception, match="htttn.clusters_file"):
        config.load(tmp_path / "gateway.toml")


def test_a_cluster_without_credentials_is_said_once_and_its_items_kept(tmp_path: Path):
    cfg_profile = profiles.load(per_cluster_profile(tmp_path))
    box = Outbox(tmp_path / "outbox.sqlite")
    north = North(cfg_profile, "http://127.0.0.1:1", {}, concurrency=1)
    said: list[tuple[str, dict[str, object]]] = []
    senders = Senders(box, north, lambda key, **p: said.append((key, p)), concurrency=1, backoff_base_s=0.1,
                      backoff_cap_s=0.2)
    box.put_ping("ping:u9", "u9", {"CumLoaID": "u9"})
    box.add_log("bulletin_log:u9:j1", "bulletin_log", "u9", {"CumLoaID": "u9"})
    senders.start()
    try:
        assert wait_until(lambda: box.counts().get("refused ping") == 1 and box.counts().get("refused bulletin_log"), 5)
    finally:
        senders.close()
        north.close()
    assert said == [("gateway_no_credentials", {"unit": "u9"})]
