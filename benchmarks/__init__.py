"""Benchmarks: `python -m benchmarks all|search|parse|crawl` (see benchmarks/README.md)."""
