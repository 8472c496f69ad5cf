"""Where a LangSmith LLM run keeps its tokens and model, which depends on who traced it.

The search order is the one the LangSmith SDK itself uses (`get_unified_run_tokens`):
server-computed run fields first, then `usage_metadata` in the outputs, then LangChain's
serialized generations, then provider-raw usage. Every source is normalised to the canonical
meaning: input INCLUDES cache reads and writes, output INCLUDES reasoning.
"""

from __future__ import annotations

from typing import Any

from ingest.canonical import as_int

PROVIDERS = {
    "google_vertexai": "gcp.vertex_ai",
    "google_genai": "gcp.gemini",
    "google_generative_ai": "gcp.gemini",
    "google_anthropic_vertex": "gcp.vertex_ai",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "amazon_bedrock": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "mistralai": "mistral_ai",
    "xai": "x_ai",
}


def llm_usage(run: dict) -> dict:
    """Canonical token columns of one LLM run; all NULL when no source carries usage."""
    outputs = _dict(run.get("outputs"))
    for usage in (
        _run_fields(run),
        _from_usage_metadata(_find_usage_metadata(outputs)),
        _from_raw(_dict(_dict(outputs.get("llm_output")).get("token_usage"))),
        _from_raw(_dict(outputs.get("usage"))),
    ):
        if usage:
            return usage
    return {}


def model_fields(run: dict, metadata: dict) -> dict:
    """Response model (falling back to the requested one), requested model and provider."""
    params = _dict(_dict(run.get("extra")).get("invocation_params"))
    requested = _first(metadata.get("ls_model_name"), params.get("model"), params.get("model_name"))
    outputs = _dict(run.get("outputs"))
    message = _dict(_first_generation_message(outputs))
    responded = _first(
        outputs.get("model") if isinstance(outputs.get("model"), str) else None,
        _dict(_dict(message.get("kwargs", message)).get("response_metadata")).get("model_name"),
        _dict(outputs.get("llm_output")).get("model_name"),
    )
    provider = metadata.get("ls_provider")
    return {
        "model": _text(responded or requested),
        "request_model": _text(requested),
        "provider": PROVIDERS.get(str(provider).lower(), str(provider).lower())
        if provider
        else None,
    }


def _run_fields(run: dict) -> dict:
    if run.get("prompt_tokens") is None and run.get("completion_tokens") is None:
        return {}
    inputs = _dict(run.get("prompt_token_details") or run.get("input_token_details"))
    outputs = _dict(run.get("completion_token_details") or run.get("output_token_details"))
    return _columns(
        run.get("prompt_tokens"),
        run.get("completion_tokens"),
        outputs.get("reasoning"),
        inputs.get("cache_read"),
        _cache_write(inputs),
    )


def _from_usage_metadata(usage: dict | None) -> dict:
    """LangChain's UsageMetadata: input_tokens is already the sum of all input token types."""
    if not usage:
        return {}
    inputs = _dict(usage.get("input_token_details"))
    outputs = _dict(usage.get("output_token_details"))
    return _columns(
        usage.get("input_tokens"),
        usage.get("output_tokens"),
        outputs.get("reasoning"),
        inputs.get("cache_read"),
        _cache_write(inputs),
    )


def _find_usage_metadata(outputs: dict) -> dict | None:
    """outputs.usage_metadata, an output message's, or the first LangChain generation's."""
    if isinstance(outputs.get("usage_metadata"), dict):
        return outputs["usage_metadata"]
    for value in outputs.values():
        found = _message_usage(value)
        if found:
            return found
    return _message_usage(_first_generation_message(outputs))


def _message_usage(value: Any) -> dict | None:
    """usage_metadata of a message dict or of an lc-serialized one (`{"kwargs": {...}}`)."""
    message = _dict(value)
    for holder in (message, _dict(message.get("kwargs"))):
        if isinstance(holder.get("usage_metadata"), dict):
            return holder["usage_metadata"]
    return None


def _first_generation_message(outputs: dict) -> Any:
    """generations[i][j].message of the first generation that carries usage, else the first."""
    messages = [
        generation.get("message")
        for batch in outputs.get("generations") or []
        if isinstance(batch, list)
        for generation in batch
        if isinstance(generation, dict)
    ]
    return next((m for m in messages if _message_usage(m)), messages[0] if messages else None)


def _from_raw(raw: dict) -> dict:
    """Provider-raw usage: OpenAI Chat Completions, OpenAI Responses, or Anthropic."""
    if not raw:
        return {}
    if "prompt_tokens" in raw or "completion_tokens" in raw:
        return _columns(
            raw.get("prompt_tokens"),
            raw.get("completion_tokens"),
            _dict(raw.get("completion_tokens_details")).get("reasoning_tokens"),
            _dict(raw.get("prompt_tokens_details")).get("cached_tokens"),
            None,
        )
    if "cache_read_input_tokens" in raw or "cache_creation_input_tokens" in raw:
        read, write = (
            as_int(raw.get("cache_read_input_tokens")),
            as_int(raw.get("cache_creation_input_tokens")),
        )
        uncached = as_int(raw.get("input_tokens"))
        total = None if uncached is None else uncached + (read or 0) + (write or 0)
        return _columns(total, raw.get("output_tokens"), None, read, write)
    if "input_tokens" in raw or "output_tokens" in raw:
        return _columns(
            raw.get("input_tokens"),
            raw.get("output_tokens"),
            _dict(raw.get("output_tokens_details")).get("reasoning_tokens"),
            _dict(raw.get("input_tokens_details")).get("cached_tokens"),
            None,
        )
    return {}


def _cache_write(details: dict) -> int | None:
    if details.get("cache_creation") is not None:
        return as_int(details["cache_creation"])
    parts = [
        as_int(details.get(k)) for k in ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens")
    ]
    known = [p for p in parts if p is not None]
    return sum(known) if known else None


def _columns(input_tokens, output_tokens, reasoning, cache_read, cache_write) -> dict:
    return {
        "input_tokens": as_int(input_tokens),
        "output_tokens": as_int(output_tokens),
        "reasoning_tokens": as_int(reasoning),
        "cache_read_tokens": as_int(cache_read),
        "cache_write_tokens": as_int(cache_write),
    }


def _first(*values: Any) -> Any:
    return next((v for v in values if v not in (None, "")), None)


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}
