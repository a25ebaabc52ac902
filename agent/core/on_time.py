"""The amplifiers' hard maximum on-time and its renewal: which plays may keep the amplifiers on past `max_on_s`, and
how often the budget is renewed while they do (docs/protocol.md, section 3.5).

The limit is there for runaway on-time: a play with no known end (a stream without `until`, a file that never
ends, a stuck sequence) must not keep the horns on all night. Two kinds of play are deliberately long and keep
renewing the budget, so neither the unit's own limit nor the relay co-processor's fail-safe (which cuts any relay
on for its maximum on-time unless the agent renews it, firmware/README.md) cuts them:
- an emergency: it plays whole however long it is (Circular 39/2020), until it ends or a signed `stop` ends it;
- a stream with a signed end (`until` of a `play`, the length of a programme slot): the signed time ends it.
Every other play keeps the hard limit: a normal file or stream without an end is cut at `max_on_s`.

This is a decision, so it lives in the core: the playout renews while such an item is current, with an effect
(RenewOnTime) the runtime hands to relays that have their own limit, and restarts its own budget at the same time.
After such an item, the budget runs on from its last renewal, as the co-processor's does.

Pure. Must not import adapters, runtime or any I/O module.
"""

from __future__ import annotations

from agent.core.arbiter import EMERGENCY, Item


def may_outlast(item: Item) -> bool:
    """Whether this item renews the amplifiers' on-time budget while it is current."""
    return item.level == EMERGENCY or (item.is_stream and item.until_ms is not None)


def renew_period_ms(max_on_s: float, renew_s: float | None) -> int:
    """The renewal period: the one configured (the co-processor board's data), else a third of the limit; never more
    than half of it, so a renewal always comes well before the cut."""
    period_s = max_on_s / 3 if renew_s is None else renew_s
    return int(min(period_s, max_on_s / 2) * 1000)
