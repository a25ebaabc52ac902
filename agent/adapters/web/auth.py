"""Logins to the status page: sessions (random ids, idle expiry, a CSRF token each) and a brake on failed logins.

The brake is per client address and is checked, and the attempt counted, before the password hash is computed, so
parallel guesses from one address cannot all reach the hash: 5 attempts that fail in 5 minutes lock that address
out, 60 s first and doubling up to 15 minutes. Failures from other addresses never lock out an address that has
not failed itself (the right password from a new address always gets its try); when 20 failures a minute arrive
from all addresses together, only addresses that have failed recently are held back for a minute. One hash is
computed at a time, so guessers cannot take every core of the unit.
The page server's handler threads share this table, so one lock guards it; it holds no core state.
Imports only the standard library and agent.adapters.web.passwords; must not import the core, the runtime or adapters.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from dataclasses import dataclass, field

from agent.adapters.web import passwords

PER_ADDRESS, WINDOW_S = 5, 300.0
LOCK_S, MAX_LOCK_S = 60.0, 900.0
GLOBAL_PER_MINUTE = 20
MAX_ADDRESSES = 1024  # past this many remembered addresses, the ones with nothing recent are forgotten


@dataclass
class Session:
    csrf: str
    expires: float


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0
    lock_s: float = LOCK_S

    def recent(self, now: float) -> bool:
        return self.locked_until > now or any(t >= now - WINDOW_S for t in self.times)


class Logins:
    def __init__(self, password_hash: str, session_s: float) -> None:
        self._hash, self._session_s = password_hash, session_s
        self._sessions: dict[str, Session] = {}
        self._failures: dict[str, _Failures] = {}
        self._recent: deque[float] = deque()  # failures from every address, for the global brake
        self._global_until = 0.0
        self._lock = threading.Lock()
        self._hashing = threading.Lock()

    def wait_s(self, address: str, now: float) -> float:
        """Seconds this address must wait before it may try a password again (0: it may)."""
        with self._lock:
            return self._wait(address, now)

    def _wait(self, address: str, now: float) -> float:
        f = self._failures.get(address)
        if f is None:
            return 0.0  # an address that has not failed is never held back by others' failures
        held = self._global_until - now if f.recent(now) else 0.0
        return max(0.0, held, f.locked_until - now)

    def login(self, address: str, password: str, now: float) -> str | None:
        """A new session id for the right password; None (and a failure counted) otherwise."""
        if not self._admit(address, now):
            return None
        with self._hashing:
            right = passwords.verify(password, self._hash)
        with self._lock:
            if not right:
                self._count_global(now)
                return None
            self._failures.pop(address, None)
            self._sessions = {k: v for k, v in self._sessions.items() if v.expires >= now}
            sid = secrets.token_urlsafe(32)
            self._sessions[sid] = Session(secrets.token_urlsafe(24), now + self._session_s)
            return sid

    def _admit(self, address: str, now: float) -> bool:
        """Count the attempt as a failure before the hash (a right password takes it back): the attempt that
        reaches PER_ADDRESS locks the address, and any attempt after it is refused without a hash."""
        with self._lock:
            if self._wait(address, now) > 0:
                return False
            self._forget_old(now)
            f = self._failures.setdefault(address, _Failures())
            f.times.append(now)
            while f.times and f.times[0] < now - WINDOW_S:
                f.times.popleft()
            if len(f.times) >= PER_ADDRESS:
                f.locked_until, f.lock_s = now + f.lock_s, min(f.lock_s * 2, MAX_LOCK_S)
                f.times.clear()
            return True

    def _count_global(self, now: float) -> None:
        self._recent.append(now)
        while self._recent and self._recent[0] < now - 60:
            self._recent.popleft()
        if len(self._recent) >= GLOBAL_PER_MINUTE:
            self._global_until = now + LOCK_S

    def _forget_old(self, now: float) -> None:
        if len(self._failures) >= MAX_ADDRESSES:
            self._failures = {a: f for a, f in self._failures.items() if f.recent(now)}

    def session(self, sid: str, now: float) -> Session | None:
        """The live session for a cookie value (its idle time starts again), or None."""
        with self._lock:
            s = self._sessions.get(sid)
            if s is None or s.expires < now:
                self._sessions.pop(sid, None)
                return None
            s.expires = now + self._session_s
            return s

    def logout(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)
