"""Technician actions from the unit's own status page, turned into commands the core makes itself.

Why the core trusts them: they never arrive over the network link. The page server authenticates the technician
(per-unit password, session cookie) and can only post a LocalAction naming one of the actions below; the core, not
the page, decides what each action does. So a local session can sound a short test phrase at normal level (quiet
hours and volume caps apply, as to any normal bulletin) or pulse one relay — never an emergency, a schedule, a
volume, a key or a setting. Every local command gets a `local-` jti, so its acks, play log and staff log line show
where it came from.

Pure: must not import adapters or any I/O module.
"""

from __future__ import annotations

from typing import Any

from agent.core.events import LocalAction
from agent.core.topics import Target
from agent.core.verify import Command

ISSUER = "local"
TEST_TONE_TEXT = "Kiểm tra loa. Một, hai, ba."  # spoken by espeak-ng; short, and obviously a test to passers-by
TEST_TONE_TITLE = "Phát âm thử (trang trạng thái)"  # a play title staff read in logs and exports
RELAY_TEST_S = 3


def command(e: LocalAction, device_id: str) -> Command | None:
    """The command an action stands for, or None for an action the core does not know."""
    args = _args(e)
    if args is None:
        return None
    cmd, body = args
    now_s = e.now_ms // 1000
    return Command(jti=f"local-{e.action}-{e.now_ms}", cmd=cmd, args=body, iss=ISSUER, iat=now_s, exp=now_s + 60,
                   target=Target("dev", device_id))


def _args(e: LocalAction) -> tuple[str, dict[str, Any]] | None:
    if e.action == "test_tone":
        return "play", {"source": {"tts": TEST_TONE_TEXT, "lang": "vi"}, "title": TEST_TONE_TITLE}
    if e.action == "relay_test":
        return "relay", {"zone": e.zone, "on": True, "for_s": RELAY_TEST_S}
    return None
