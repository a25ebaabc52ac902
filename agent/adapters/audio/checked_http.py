"""HTTP GET for audio sources under the unit's source policy: every redirect hop checked, one overall deadline.

urllib follows redirects on its own (to other hosts, to ftp://) and its socket timeout is per read, so a server
that trickles one byte every few seconds never trips it. This opener follows redirects itself, judging each hop with
agent.core.sources, and keeps the socket so every read waits at most until the deadline.
Imports only the standard library, the core's source policy and the error hierarchy; never vlc or paho.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from agent.core.sources import MAX_REDIRECTS, SourcePolicy
from agent.errors import DownloadError, DownloadTimeout, RedirectRefused, SourceRefused

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_URL_SAFE = "/:@!$&'()*+,;=%?~-._"


@dataclass
class Deadline:
    """An overall deadline on the monotonic clock; `timeout(per_read_s)` is how long one read may wait."""

    at: float
    what: str = "the download"

    @classmethod
    def after(cls, seconds: float, what: str = "the download") -> Deadline:
        return cls(time.monotonic() + seconds, what)

    def timeout(self, per_read_s: float) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise DownloadTimeout(f"{self.what} did not finish within its deadline")
        return min(per_read_s, left)


@dataclass
class Opened:
    """A response whose status is not a redirect, the URL it came from, and its socket (for per-read deadlines)."""

    response: http.client.HTTPResponse
    url: str
    sock: socket.socket | None
    conn: http.client.HTTPConnection

    def read(self, size: int, deadline: Deadline, per_read_s: float) -> bytes:
        """At most `size` bytes, as soon as any arrive; raises DownloadTimeout once the deadline passes."""
        if self.sock is not None:
            self.sock.settimeout(deadline.timeout(per_read_s))
        try:
            return self.response.read1(size)
        except TimeoutError:
            deadline.timeout(per_read_s)  # raises when the deadline, not the read timeout, ran out
            raise

    def close(self) -> None:
        self.response.close()
        self.conn.close()


def open_checked(url: str, policy: SourcePolicy, *, stream: bool, deadline: Deadline, per_read_s: float,
                 headers: dict[str, str] | None = None) -> Opened:
    """GET `url`, following at most MAX_REDIRECTS redirects, each allowed by `policy`; raises SourceRefused for the
    first URL, RedirectRefused for a hop, DownloadError for a redirect loop; OSError/HTTPException for the link."""
    why = policy.refusal(url, stream=stream)
    if why:
        raise SourceRefused(why)
    for _ in range(MAX_REDIRECTS + 1):
        opened = _get(url, deadline, per_read_s, headers or {})
        location = opened.response.getheader("Location")
        if opened.response.status not in _REDIRECTS or location is None:
            return opened
        opened.close()
        url = _next_hop(url, location, policy, stream)
    raise DownloadError(f"more than {MAX_REDIRECTS} redirects from {url}")


def _next_hop(url: str, location: str, policy: SourcePolicy, stream: bool) -> str:
    target = urljoin(url, location.strip())
    why = policy.refusal(target, stream=stream)
    if why:
        raise RedirectRefused(f"{url} redirected to a refused source: {why}")
    return target


def _get(url: str, deadline: Deadline, per_read_s: float, headers: dict[str, str]) -> Opened:
    parts = urlsplit(url)
    timeout = deadline.timeout(per_read_s)
    conn: http.client.HTTPConnection
    if parts.scheme.lower() == "https":
        conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout,
                                           context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    # a Vietnamese file name may come unquoted; what is already quoted (%XX) stays as it is
    path = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), safe=_URL_SAFE)
    try:
        conn.request("GET", path, headers={"User-Agent": "loa-agent", **headers})
        sock = conn.sock  # kept: getresponse() may drop the connection's reference, the response still reads it
        return Opened(conn.getresponse(), url, sock, conn)
    except BaseException:
        conn.close()
        raise
