"""The kiosk page's per-boot secret path: HMAC of this boot's id under a key kept in the state folder (0600).

It changes at every boot of the unit and stays the same across agent restarts, so the board's browser keeps working
when only the agent restarts. Only the agent and the kiosk launcher (same user) can read the key or the URL file.
Must not import the core or the runtime.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from agent.adapters.storage.durable_files import write_atomically

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
KEY_FILE, URL_FILE = "kiosk.key", "kiosk.url"


def kiosk_token(state_dir: Path, boot_id_file: Path = BOOT_ID) -> str:
    key = _key(state_dir / KEY_FILE)
    try:
        boot = boot_id_file.read_bytes().strip()
    except OSError:
        boot = secrets.token_bytes(16)  # no boot id on this system: a token for this run only
    return hmac.new(key, boot, hashlib.sha256).hexdigest()[:32]


def write_url(state_dir: Path, url: str) -> Path:
    """The URL the kiosk browser is launched with (e.g. `chromium --kiosk "$(cat kiosk.url)"`)."""
    path = state_dir / URL_FILE
    _write_private(path, (url + "\n").encode())
    return path


def previous_port(state_dir: Path) -> int:
    """The port of the last kiosk URL (0 if none), so an agent restart keeps the URL the board's browser has."""
    try:
        return urlsplit((state_dir / URL_FILE).read_text().strip()).port or 0
    except (OSError, ValueError):
        return 0


def _key(path: Path) -> bytes:
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    _write_private(path, key)
    return key


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data, 0o600)
