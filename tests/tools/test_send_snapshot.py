"""`loa send snapshot --save FILE` against a real e-board agent (headless Chromium renders its kiosk page): the
snapshot report's image lands in FILE, and the line saying so is in the reader's language."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from province.console import Console
from tests.conftest import Broker
from tests.e2e.eboard_helpers import eboard_unit, kiosk_url
from tests.e2e.link_helpers import UnitWatch
from tests.tools.test_cli_console import loa, write_profile


def test_send_snapshot_save_writes_the_boards_image(make_unit, console: Console, broker: Broker, keys: Path,
                                                    tmp_path: Path) -> None:
    unit = eboard_unit(make_unit)
    UnitWatch(console, unit).wait_online()
    kiosk_url(unit)
    profile = str(write_profile(tmp_path / "p", broker, keys))
    out = tmp_path / "board.jpg"
    sent = loa("--lang", "vi", "--profile", profile, "send", "snapshot", "--device", unit.device_id, "--wait", "30",
               "--save", str(out))
    assert sent.returncode == 0, sent.stdout + sent.stderr
    image = Image.open(io.BytesIO(out.read_bytes()))
    assert image.format == "JPEG" and image.width >= 320, image
    assert f"Đã lưu ảnh bảng tin vào {out}" in sent.stdout, sent.stdout
