"""Loa cluster agent: a pure core (decisions) plus adapters (MQTT, libVLC, relays, storage) and one runtime loop."""

__version__ = "0.1.0"
