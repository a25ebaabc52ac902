"""Which audio source URLs a unit may fetch: the pure decision behind downloads, streams and their redirects.

A hash-verified download may use plain http (the SHA-256 in the signed command protects the content); a stream,
which no hash protects, needs https unless the unit's config lists its host for plain http. An optional allow-list
of hosts applies to both, and every redirect hop is judged by the same rule as the first URL.
Pure: no I/O, no clock; must not import adapters, the runtime or any network library.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

MAX_REDIRECTS = 5


@dataclass(frozen=True)
class SourcePolicy:
    """`allowed_hosts` empty: any host. A host entry `*.example.vn` also admits every sub-domain of example.vn."""

    allowed_hosts: tuple[str, ...] = ()
    plain_http_stream_hosts: tuple[str, ...] = ()

    def refusal(self, url: str, *, stream: bool) -> str | None:
        """Why `url` may not be fetched (one sentence for the failed ack), or None when it may."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError as exc:
            return f"{url!r} is not a valid URL ({exc})"
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            return f"only http and https sources are allowed, not {scheme or 'a URL without scheme'} ({_short(url)})"
        if not host:
            return f"{_short(url)} names no host"
        if self.allowed_hosts and not host_matches(host, self.allowed_hosts):
            return f"host {host} is not in this unit's [sources] allowed_hosts"
        if stream and scheme == "http" and not host_matches(host, self.plain_http_stream_hosts):
            return f"a stream needs https; plain http from {host} is not in [sources] plain_http_stream_hosts"
        return None


def host_matches(host: str, patterns: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in (p.lower().rstrip(".") for p in patterns):
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def public_url(url: str) -> str:
    """The URL without credentials, query and fragment, for reports: a signed stream URL's token must not reach
    everyone who reads the logs."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], query="", fragment=""))


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."


ANY_HOST = SourcePolicy()  # the default: any host; streams need https
