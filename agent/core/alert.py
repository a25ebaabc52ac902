"""The alert before an emergency whose audio is still on its way: a short tone, then the bulletin's title spoken,
so the loudspeakers sound at once (Circular 39/2020: an emergency plays immediately) while the file downloads.

The alert is two items of the playout (its "parts"), linked to the bulletin by `alert_of`; the rules that tie them
to the bulletin (skipped once its audio is ready, amplifiers held on until it is) live in agent.core.playout.
Pure: must not import adapters, runtime or any I/O module.
"""

from __future__ import annotations

from typing import Any

from agent.core.arbiter import EMERGENCY, Item

# A bulletin whose audio is verified within this time after `accepted` (a cache hit) sounds without an alert. When
# the amplifiers must first warm up, the warm-up is the grace (the bulletin takes it over from the tone), so the
# tone is not delayed twice and still starts well inside 2 s.
GRACE_MS = 300
TONE, TITLE = "tone", "title"


def wanted(item: Item, alert_tone: str, now: int, pinned: bool) -> bool:
    """An emergency sounding now from a file that may need a download gets an alert: by url, or a stored bulletin
    that is not pinned (a pinned one is always in the cache)."""
    return (bool(alert_tone) and item.level == EMERGENCY and item.not_before_ms <= now
            and ("url" in item.source and not pinned))


def part_id(bulletin: Item, kind: str) -> str:
    return f"{bulletin.play_id}.{kind}"


def speech(bulletin: Item, phrase: str, lang: str) -> dict[str, Any]:
    """The `tts` source of the spoken part: the bulletin's title, or the unit's fixed phrase when it has none."""
    return {"tts": bulletin.title.strip() or phrase, "lang": lang}


def grace_ms(warmup_s: float, zones_to_power: bool) -> int:
    """How long the alert waits for a cache hit before it may start."""
    return 0 if zones_to_power and warmup_s * 1000 >= GRACE_MS else GRACE_MS


def parts(bulletin: Item, tone_media: str, start_ms: int, seq: int) -> tuple[Item, Item]:
    """The tone (its media is a file made by the unit) and the spoken title (media once synthesized); both wait
    until `start_ms` (the grace) so a cached bulletin goes first, and rank by `seq` after what came before."""
    b, now = bulletin, start_ms
    tone = Item(play_id=part_id(b, TONE), jti=b.jti, level=b.level, source={"alert": TONE}, title=b.title,
                zones=b.zones, volume_pct=b.volume_pct, seq=seq, not_before_ms=now, replace=b.replace,
                media=tone_media, alert_of=b.play_id)
    title = Item(play_id=part_id(b, TITLE), jti=b.jti, level=b.level, source={"alert": TITLE}, title=b.title,
                 zones=b.zones, volume_pct=b.volume_pct, seq=seq + 1, not_before_ms=now, replace=b.replace,
                 alert_of=b.play_id)
    return tone, title
