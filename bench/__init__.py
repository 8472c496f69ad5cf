"""Benchmarks, not tests: `python -m bench` measures ingest, pages and payloads at scale."""
