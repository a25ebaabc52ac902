"""The sound tests' real media (sox/ffmpeg) and in-thread HTTP server serve the HTTTN's media in the gateway tests."""

from tests.agent.adapters.audio.conftest import http_server, media

__all__ = ["http_server", "media"]
