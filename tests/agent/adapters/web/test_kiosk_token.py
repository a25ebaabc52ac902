"""The kiosk's secret path: the same across agent restarts in one boot, new at the next boot, its key private."""

from __future__ import annotations

from pathlib import Path

from agent.adapters.web import kiosk_token


def test_the_token_follows_the_boot_and_its_key_is_private(tmp_path: Path) -> None:
    boot = tmp_path / "boot_id"
    boot.write_text("1111\n")
    first = kiosk_token.kiosk_token(tmp_path / "state", boot)
    assert kiosk_token.kiosk_token(tmp_path / "state", boot) == first and len(first) == 32
    assert (tmp_path / "state" / kiosk_token.KEY_FILE).stat().st_mode & 0o777 == 0o600
    boot.write_text("2222\n")
    assert kiosk_token.kiosk_token(tmp_path / "state", boot) != first
    assert kiosk_token.kiosk_token(tmp_path / "other", boot) != kiosk_token.kiosk_token(tmp_path / "state", boot)


def test_the_url_file_is_private_and_gives_back_its_port(tmp_path: Path) -> None:
    assert kiosk_token.previous_port(tmp_path) == 0
    path = kiosk_token.write_url(tmp_path, f"http://127.0.0.1:45123/kiosk/{'a' * 32}/")
    assert path.stat().st_mode & 0o777 == 0o600 and kiosk_token.previous_port(tmp_path) == 45123
