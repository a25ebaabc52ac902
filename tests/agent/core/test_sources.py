"""The source policy as a table: URL, stream or download, policy -> refused or not."""

from __future__ import annotations

import pytest

from agent.core.sources import SourcePolicy

OPEN = SourcePolicy()
LISTED = SourcePolicy(allowed_hosts=("media.tinh.example.vn", "*.cdn.example.vn"),
                      plain_http_stream_hosts=("radio.xa.example.vn",))


@pytest.mark.parametrize(("policy", "url", "stream", "refused"), [
    (OPEN, "https://radio.example.vn/live", True, None),
    (OPEN, "http://radio.example.vn/live", True, "a stream needs https"),
    (OPEN, "http://media.example.vn/a.mp3", False, None),  # the signed hash protects a download
    (OPEN, "file:///etc/passwd", False, "only http and https"),
    (OPEN, "ftp://127.0.0.1/a.mp3", False, "only http and https"),
    (OPEN, "https:///nohost", True, "names no host"),
    (OPEN, "http://[::1", False, "not a valid URL"),
    (LISTED, "https://media.tinh.example.vn/a.mp3", False, None),
    (LISTED, "https://MEDIA.tinh.example.vn./a.mp3", False, None),
    (LISTED, "https://a.b.cdn.example.vn/a.mp3", True, None),
    (LISTED, "https://cdn.example.vn.evil.vn/a.mp3", False, "not in this unit's [sources] allowed_hosts"),
    (LISTED, "https://evil.example.com/a.mp3", False, "allowed_hosts"),
    (LISTED, "http://radio.xa.example.vn/live", True, "allowed_hosts"),  # the allow-list applies first
    (SourcePolicy(plain_http_stream_hosts=("radio.xa.example.vn",)), "http://radio.xa.example.vn/live", True, None),
])
def test_refusal(policy: SourcePolicy, url: str, stream: bool, refused: str | None) -> None:
    why = policy.refusal(url, stream=stream)
    assert (why is None) if refused is None else (why is not None and refused in why), why
