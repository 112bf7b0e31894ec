"""Benchmarks (not shipped): ``python -m bench.conversation``; see bench/README.md."""
