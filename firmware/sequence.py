"""The replay guard: a host frame is obeyed only if its sequence number is newer than the last one obeyed.

Newer means 1..127 ahead modulo 256 (serial-number arithmetic), so a repeated, replayed or out-of-order frame is
refused. The guard forgets at boot and when the host link is lost, so a restarted host can start anywhere.
Imports nothing.
"""


class SeqGuard:
    def __init__(self) -> None:
        self._last = -1  # -1: no frame obeyed since boot or since the link was lost

    def is_fresh(self, seq: int) -> bool:
        return self._last < 0 or 1 <= (seq - self._last) & 0xFF <= 127

    def accept(self, seq: int) -> None:
        self._last = seq & 0xFF

    def forget(self) -> None:
        self._last = -1

    def last(self) -> int:
        """The last obeyed number, sent in a bad_seq NAK so a host can resynchronise (0 if none)."""
        return max(self._last, 0)
