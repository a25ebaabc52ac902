"""End-to-end fixtures: the sound adapters' real media and HTTP servers are shared with these tests."""

from tests.agent.adapters.audio.conftest import http_server, live_server, media

__all__ = ["http_server", "live_server", "media"]
