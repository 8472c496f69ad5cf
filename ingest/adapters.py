"""Imports every built-in adapter so each registers itself with the registry."""

from ingest import canonical_parquet, langfuse, langsmith, messages, span_jsonl  # noqa: F401
from ingest.otlp import adapter as otlp_adapter  # noqa: F401
