"""The one error hierarchy of Loa. Every error also inherits the builtin it most resembles.

Imports nothing from the rest of the project.
"""

from __future__ import annotations


class LoaError(Exception):
    """Root of every error Loa raises on purpose. `code` is machine-readable, str(self) is for people."""

    code = "error"


class ConfigError(LoaError, ValueError):
    """A configuration file or value is wrong; the message names the key."""

    code = "bad_config"


class StoreError(LoaError, OSError):
    """The on-device store (SQLite, cache directory) cannot be read or written."""

    code = "store_error"


class DownloadError(LoaError, OSError):
    """A download failed (network, HTTP status, size)."""

    code = "download_failed"


class DownloadTimeout(DownloadError):
    """A download did not finish within its overall deadline (a server that trickles never trips a read timeout)."""

    code = "download_timeout"


class SourceRefused(DownloadError):
    """An audio source's URL is not allowed by the unit's source policy (scheme, plain http, host allow-list)."""

    code = "source_refused"


class RedirectRefused(SourceRefused):
    """A server redirected an audio source to a scheme or host the unit's source policy refuses."""

    code = "redirect_refused"


class HashMismatch(LoaError, ValueError):
    """Downloaded or cached content does not match the SHA-256 the signed command named."""

    code = "hash_mismatch"


class QuotaExceeded(LoaError, OSError):
    """The cache cannot make room within its disk quota (everything left is pinned)."""

    code = "quota_exceeded"


class AudioError(LoaError, RuntimeError):
    """The audio engine or output device failed."""

    code = "audio_error"


class HardwareError(LoaError, OSError):
    """A hardware driver (relays, co-processor, modem) failed at its boundary."""

    code = "hardware_error"


class FrameError(LoaError, ValueError):
    """A co-processor frame is malformed (length, CRC, unknown command); it is rejected, never guessed."""

    code = "bad_frame"


class TimeSourceError(LoaError, OSError):
    """A time source (an NTP server, the modem's network time or GNSS) gave no usable time."""

    code = "time_source"
