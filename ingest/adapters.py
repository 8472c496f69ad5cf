"""Imports every built-in adapter so each registers itself with the registry."""

from ingest import langsmith, messages, span_jsonl  # noqa: F401
