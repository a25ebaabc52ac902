"""Adapters: one library per file (vlc, urllib, espeak-ng, ...), each implementing a port the core needs."""
