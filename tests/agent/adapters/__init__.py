"""Tests of the adapters, each against the real library or program it wraps."""
