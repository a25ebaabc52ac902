"""Benchmarks: each measures a real run and prints numbers; none is a unit test."""
