"""Benchmarks: `make bench` runs `bench/run.py`; granian workers import `bench.app`."""
