"""`loa demo --htttn` runs from README: the demo's unit (a real agent), the real gateway and the emulated HTTTN; the
central bulletin plays on the unit and its bulletin log, with the bulletin's origin, arrives back at the HTTTN."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tools.demo_htttn import ORIGIN
from tools.gateway.local import LocalHtttn


@pytest.mark.slow
def test_the_htttn_demo_plays_a_central_bulletin_and_its_log_arrives_back(tmp_path: Path):
    out = subprocess.run([sys.executable, "-m", "tools.cli", "--lang", "en", "demo", "--htttn", "--dir",
                          str(tmp_path / "demo")], capture_output=True, text=True, cwd=REPO, timeout=240, check=False)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "1 / 1 cluster(s) connected" in text and "Its bulletin log arrived back at the HTTTN" in text, text
    stored = LocalHtttn(tmp_path / "demo" / "htttn", tmp_path)
    logs = [body for _, cluster, _, body in stored.logs_since(0) if cluster == "demo-001"]
    assert len(logs) == 1 and logs[0]["NguonTiepAm"] == ORIGIN, logs
