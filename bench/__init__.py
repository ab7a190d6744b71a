"""Benchmarks: `make bench` runs every bench/*_bench.py, each printing its own baseline."""
