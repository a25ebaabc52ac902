"""The pure core: events (with their time) in, effects out. No I/O, no threads, no sleep, no wall clock.

Must not import adapters, runtime, paho, vlc, sqlite3, socket or time.
"""
