"""End-to-end fixtures: the sound adapters' real media and HTTP servers are shared with these tests."""

from tests.agent.adapters.audio.conftest import http_server, live_server, media
from tests.e2e.time_helpers import booted, modem

__all__ = ["booted", "http_server", "live_server", "media", "modem"]
