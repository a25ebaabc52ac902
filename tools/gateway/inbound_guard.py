"""Who may call the inbound API and how often: a bearer token compared in constant time (or a client certificate's
name), and token buckets per credential, one for every call and a stricter one for emergencies. Thread-safe (the
server answers calls on several threads). Must not import the HTTP server or the operations.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Iterable

from tools.gateway.inbound_config import Credential


class Bucket:
    """A token bucket: `burst` calls at once, then one every 1/rate seconds."""

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate_per_s, float(burst), clock
        self.level, self.at = float(burst), clock()

    def take(self) -> bool:
        now = self.clock()
        self.level = min(self.burst, self.level + (now - self.at) * self.rate)
        self.at = now
        if self.level < 1:
            return False
        self.level -= 1
        return True


class Guard:
    def __init__(self, credentials: Iterable[Credential], *, rate_per_min: float, burst: int,
                 emergency_per_hour: float, emergency_burst: int) -> None:
        self.credentials = tuple(credentials)
        self._lock = threading.Lock()
        self._calls = {c.name: Bucket(rate_per_min / 60, burst) for c in self.credentials}
        self._emergencies = {c.name: Bucket(emergency_per_hour / 3600, emergency_burst) for c in self.credentials}

    def identify(self, authorization: str, scheme: str, cert_name: str) -> Credential | None:
        """The credential whose client certificate or bearer token this is. Every token is compared (in constant
        time), so the answer takes as long whichever credential, if any, matches."""
        _, _, token = authorization.partition(f"{scheme} ") if authorization.startswith(f"{scheme} ") else ("", "", "")
        found = None
        for c in self.credentials:
            by_token = bool(c.token) and hmac.compare_digest(c.token.encode(), token.encode())
            by_cert = bool(c.cert_name) and bool(cert_name) and hmac.compare_digest(c.cert_name, cert_name)
            if (by_token or by_cert) and found is None:
                found = c
        return found

    def allow(self, credential: Credential, emergency: bool) -> bool:
        """One call (and one emergency) taken from the credential's buckets; False: rate-limited."""
        with self._lock:
            if emergency and not self._emergencies[credential.name].take():
                return False
            return self._calls[credential.name].take()
