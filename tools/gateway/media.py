"""Fetches the HTTTN's media (often plain http) once, bounded in size and time, and hashes it, so the gateway signs
the command with the URL and its SHA-256 and every unit verifies what it downloads. Must not import the console.
"""

from __future__ import annotations

import hashlib
import http.client
import urllib.error
import urllib.request
from dataclasses import dataclass

from agent.errors import LoaError
from tools.gateway.bulletin_plan import Media

CHUNK = 64 * 1024
KIND_VI = {"audio": "âm thanh", "image": "hình ảnh"}


def looks_like(kind: str, head: bytes) -> bool:
    """Whether a file's first bytes are those of an audio (MP3, WAV, Ogg, FLAC, MP4/AAC) or image (PNG, JPEG, GIF,
    WebP) file: a page of HTML or a truncated upload is refused at the gateway, not by every unit."""
    riff = head[:4] == b"RIFF"
    if kind == "image":
        return head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")) or (riff and head[8:12] == b"WEBP")
    sync = len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
    return sync or head.startswith((b"ID3", b"OggS", b"fLaC")) or head[4:8] == b"ftyp" or (riff and head[8:12] == b"WAVE")


class MediaError(LoaError, OSError):
    """The media could not be fetched or is not acceptable; the text is the reason (Vietnamese / English)."""

    code = "media_unavailable"


@dataclass(frozen=True)
class Fetcher:
    max_bytes: int = 64 * 1024 * 1024
    timeout_s: float = 30.0

    def __call__(self, url: str, kind: str) -> Media:
        """The URL with the SHA-256 of what it serves now; MediaError when it cannot be had whole or is not the kind
        of file the bulletin says (audio, image)."""
        if not url.startswith(("http://", "https://")):
            raise MediaError(f"đường dẫn không phải http(s): {url} / not an http(s) URL: {url}")
        digest, size, head = hashlib.sha256(), 0, b""
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_s) as reply:  # http(s) only: checked above
                length = reply.headers.get("Content-Length")
                self._check_length(url, length)
                while chunk := reply.read(CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise self._too_big(url)
                    digest.update(chunk)
                    head = head or chunk[:16]
                if length and length.isdigit() and size != int(length):
                    raise MediaError(f"tải dở {size}/{length} byte: {url} / cannot fetch {url}: cut after {size} of "
                                     f"{length} bytes")
        except urllib.error.HTTPError as exc:
            raise MediaError(f"máy chủ trả lỗi {exc.code} cho {url} / {url} answered {exc.code}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            if isinstance(exc, MediaError):
                raise
            reason = getattr(exc, "reason", exc)
            raise MediaError(f"không tải được {url}: {reason} / cannot fetch {url}: {reason}") from None
        if size == 0:
            raise MediaError(f"tệp rỗng: {url} / empty file: {url}")
        if not looks_like(kind, head):
            raise MediaError(f"không phải tệp {KIND_VI.get(kind, kind)}: {url} / not an {kind} file: {url}")
        return Media(url, digest.hexdigest())

    def _check_length(self, url: str, length: str | None) -> None:
        if length and length.isdigit() and int(length) > self.max_bytes:
            raise self._too_big(url)

    def _too_big(self, url: str) -> MediaError:
        mib = self.max_bytes // (1024 * 1024)
        return MediaError(f"tệp quá lớn (trên {mib} MiB): {url} / larger than {mib} MiB: {url}")
