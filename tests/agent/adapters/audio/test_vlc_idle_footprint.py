"""What an idle libVLC player holds in memory, in a fresh process: libVLC's plugin cache is used (setup.sh and a
unit's first boot make it; without it libVLC opens every plugin at start), and no preparser machinery is loaded
(media library, meta fetchers, disc probes: lua, libxml2, libbluray), which a player of single plays never uses."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

PROBE = """
import time
from agent.adapters.audio.vlc_player import VlcPlayer
player = VlcPlayer("null")
time.sleep(1.5)
print("\\n".join(sorted({line.split()[-1] for line in open("/proc/self/maps") if "/" in line})))
player.close()
"""
PREPARSER = ("liblua_plugin.so", "liblibbluray_plugin.so", "libdvdnav_plugin.so", "libfolder_plugin.so", "libxml2.so")


def test_an_idle_player_uses_the_plugin_cache_and_loads_no_preparser() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=REPO, timeout=60, check=True)
    mapped = {path.rsplit("/", 1)[-1] for path in done.stdout.split()}
    assert "plugins.dat" in mapped, "libVLC's plugin cache is missing: run vlc-cache-gen (setup.sh does)"
    assert not [name for name in mapped if name.startswith(PREPARSER)], sorted(mapped)
