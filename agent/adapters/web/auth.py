"""Logins to the status page: sessions (random ids, idle expiry, a CSRF token each) and a brake on failed logins.

The brake is checked before the password hash is computed, so a guesser burns neither our CPU nor much of the
password's 79 bits: per client address, 5 failures in 5 minutes lock that address out, 60 s first and doubling up to
15 minutes; 20 failures a minute from all addresses together lock every address out for a minute.
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


@dataclass
class Session:
    csrf: str
    expires: float


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0
    lock_s: float = LOCK_S


class Logins:
    def __init__(self, password_hash: str, session_s: float) -> None:
        self._hash, self._session_s = password_hash, session_s
        self._sessions: dict[str, Session] = {}
        self._failures: dict[str, _Failures] = {}
        self._recent: deque[float] = deque()  # failures from every address, for the global brake
        self._global_until = 0.0
        self._lock = threading.Lock()

    def wait_s(self, address: str, now: float) -> float:
        """Seconds this address must wait before it may try a password again (0: it may)."""
        with self._lock:
            f = self._failures.get(address)
            return max(0.0, self._global_until - now, (f.locked_until if f else 0.0) - now)

    def login(self, address: str, password: str, now: float) -> str | None:
        """A new session id for the right password; None (and a failure counted) otherwise."""
        if self.wait_s(address, now) > 0:
            return None
        if not passwords.verify(password, self._hash):
            self._failed(address, now)
            return None
        with self._lock:
            self._failures.pop(address, None)
            self._sessions = {k: v for k, v in self._sessions.items() if v.expires >= now}
            sid = secrets.token_urlsafe(32)
            self._sessions[sid] = Session(secrets.token_urlsafe(24), now + self._session_s)
            return sid

    def _failed(self, address: str, now: float) -> None:
        with self._lock:
            f = self._failures.setdefault(address, _Failures())
            f.times.append(now)
            while f.times and f.times[0] < now - WINDOW_S:
                f.times.popleft()
            if len(f.times) >= PER_ADDRESS:
                f.locked_until, f.lock_s = now + f.lock_s, min(f.lock_s * 2, MAX_LOCK_S)
                f.times.clear()
            self._recent.append(now)
            while self._recent and self._recent[0] < now - 60:
                self._recent.popleft()
            if len(self._recent) >= GLOBAL_PER_MINUTE:
                self._global_until = now + LOCK_S

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
