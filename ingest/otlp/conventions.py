"""Which attribute means what: every GenAI convention mapped onto the canonical columns.

OTel GenAI (current and deprecated names), OpenInference, OpenLLMetry/Traceloop, Vercel
`ai.*`, Logfire/pydantic-ai, Langfuse `langfuse.*`, LiteLLM and LangSmith-OTel all describe
the same LLM call with different names and, for tokens, different meanings. `map_attributes`
makes one pass over a span's attributes, keeping for each canonical column the best-ranked
alias present (trace-formats §8, first match wins), then normalises: provider names, tokens
to the canonical meaning (input includes cache, output includes reasoning); content is read
out of what each framework sends in `ingest.otlp.content`.
It runs once per span on files of millions of spans, so it is dict lookups, no regexes.
"""

from __future__ import annotations

from typing import Any

from ingest.canonical import (
    TOKEN_COLUMNS,
    as_float,
    as_int,
    include_cache_and_reasoning,
    loads_json_text,
)
from ingest.otlp.content import span_content, text_value
from ingest.otlp.messages import messages_from_events

# Column -> aliases, best first (trace-formats §8). Content and tool aliases are per §3-4.
ALIASES: dict[str, tuple[str, ...]] = {
    "request_model": ("gen_ai.request.model", "llm.request.model_name", "ai.model.id"),
    "response_model": (
        "gen_ai.response.model", "llm.response.model_name", "llm.model_name",
        "ai.response.model", "langfuse.observation.model.name", "embedding.model_name",
    ),
    "provider": (
        "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system", "ai.model.provider",
        "langfuse.observation.metadata.ls_provider",
    ),
    "input_tokens": (
        "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt",
        "ai.usage.inputTokens", "ai.usage.promptTokens", "ai.usage.tokens",
    ),
    "output_tokens": (
        "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
        "llm.token_count.completion", "ai.usage.outputTokens", "ai.usage.completionTokens",
    ),
    "cache_read_tokens": (
        "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
        "gen_ai.usage.details.cache_read_tokens", "llm.token_count.prompt_details.cache_read",
        "ai.usage.cachedInputTokens", "gen_ai.usage.cached_input_tokens",
    ),
    "cache_write_tokens": (
        "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_write.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens", "gen_ai.usage.details.cache_write_tokens",
        "llm.token_count.prompt_details.cache_write",
    ),
    "reasoning_tokens": (
        "gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens",
        "gen_ai.usage.details.reasoning_tokens", "gen_ai.usage.details.thinking_tokens",
        "llm.token_count.completion_details.reasoning", "ai.usage.reasoningTokens",
        "llm.usage.reasoning_tokens",
    ),
    "cost_usd": ("llm.cost.total", "gen_ai.usage.cost", "gen_ai.cost.total_cost", "operation.cost"),
    "tool_name": ("gen_ai.tool.name", "tool.name", "ai.toolCall.name"),
    "tool_call_id": ("gen_ai.tool.call.id", "tool.id", "tool_call.id", "ai.toolCall.id"),
    "tool_args": ("gen_ai.tool.call.arguments", "ai.toolCall.args", "ai.toolCall.input", "tool_arguments"),
    "tool_result": ("gen_ai.tool.call.result", "ai.toolCall.result", "ai.toolCall.output", "tool_response"),
    "agent_name": (
        "gen_ai.agent.name", "agent.name", "gen_ai.workflow.name", "traceloop.workflow.name",
        "ai.telemetry.functionId",
    ),
    "session_id": (
        "gen_ai.conversation.id", "session.id", "langfuse.session.id", "langsmith.metadata.thread_id",
        "langsmith.metadata.session_id", "ai.telemetry.metadata.sessionId",
        "ai.telemetry.metadata.session_id", "traceloop.association.properties.session_id",
        "traceloop.association.properties.thread_id", "langfuse.observation.metadata.thread_id",
    ),
    "task_id": (  # CrewAI: `task_key` is its task's stable id, `task_id` one run's uuid
        "task.id", "task_key", "task_id", "langsmith.metadata.task_id", "ai.telemetry.metadata.task_id",
        "ai.telemetry.metadata.taskId", "traceloop.association.properties.task_id",
    ),
    "score": ("gen_ai.evaluation.score.value",),
    "input": (
        "gen_ai.input.messages", "gen_ai.prompt", "input.value", "ai.prompt.messages", "ai.prompt",
        "traceloop.entity.input", "langfuse.observation.input", "ai.values", "ai.value", "input",
        "pydantic_ai.all_messages",
    ),
    "output": (
        "gen_ai.output.messages", "gen_ai.completion", "output.value", "ai.response.text",
        "ai.response.toolCalls", "ai.response.object", "traceloop.entity.output",
        "langfuse.observation.output", "output", "final_result",
    ),
    "error_type": ("error.type", "exception.type"),
    "error_message": ("exception.message", "langfuse.observation.status_message"),
}  # fmt: skip
# Span names that an OpenInference AGENT span carries without naming an agent: the OpenAI
# Agents SDK's default workflow name (its real agent is a child span with `agent.name`).
UNNAMED_AGENT_SPANS = frozenset({"Agent workflow"})

# Marker key -> (rank, convention): the most specific convention present names the span.
CONVENTION_MARKERS: dict[str, tuple[int, str]] = {
    **dict.fromkeys(
        ("langfuse.observation.type", "langfuse.observation.usage_details", "langfuse.trace.name",
         "langfuse.observation.model.name", "langfuse.session.id", "langfuse.observation.input"),
        (0, "langfuse"),
    ),
    **dict.fromkeys(("langsmith.span.kind", "langsmith.trace.name", "langsmith.trace.session_id"), (1, "langsmith")),
    **dict.fromkeys(("ai.operationId", "ai.toolCall.name"), (2, "vercel_ai")),
    **dict.fromkeys(
        ("traceloop.span.kind", "traceloop.workflow.name", "traceloop.entity.name", "llm.request.type",
         "llm.usage.total_tokens", "gen_ai.prompt.0.content", "gen_ai.completion.0.content"),
        (3, "openllmetry"),
    ),
    **dict.fromkeys(
        ("openinference.span.kind", "llm.model_name", "llm.token_count.prompt", "input.value",
         "llm.input_messages.0.message.role"),
        (4, "openinference"),
    ),
    **dict.fromkeys(
        ("logfire.msg", "logfire.span_type", "logfire.json_schema", "model_request_parameters",
         "operation.cost", "tool_arguments", "gen_ai.usage.details.reasoning_tokens",
         "gen_ai.usage.details.cache_read_tokens"),
        (5, "logfire"),
    ),
    **dict.fromkeys(("litellm.call_id", "gen_ai.cost.total_cost", "gen_ai.cost.input_cost"), (6, "litellm")),
    **dict.fromkeys(
        ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system", "gen_ai.request.model",
         "gen_ai.response.model", "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
         "gen_ai.tool.name", "gen_ai.agent.name", "gen_ai.prompt", "gen_ai.input.messages"),
        (9, "gen_ai"),
    ),
}  # fmt: skip
NO_CONVENTION = (99, None)

# One table for the single pass: key -> (column or None, rank, convention rank, convention).
SLOTS: dict[str, tuple[str | None, int, int, str | None]] = {
    key: (None, 0, *marker) for key, marker in CONVENTION_MARKERS.items()
}
for _column, _aliases in ALIASES.items():
    for _rank, _alias in enumerate(_aliases):
        SLOTS[_alias] = (_column, _rank, *CONVENTION_MARKERS.get(_alias, NO_CONVENTION))

OPERATION_KINDS = {
    "chat": "llm", "text_completion": "llm", "generate_content": "llm", "completion": "llm",
    "generate": "llm", "responses": "llm", "embeddings": "embedding", "embedding": "embedding",
    "execute_tool": "tool", "invoke_agent": "agent", "create_agent": "agent",
    "invoke_workflow": "agent", "retrieval": "retrieval", "search_memory": "retrieval",
    "create_memory": "tool", "update_memory": "tool", "upsert_memory": "tool",
    "delete_memory": "tool", "plan": "chain",
}  # fmt: skip
KIND_SOURCES: tuple[tuple[str, dict[str, str]], ...] = (
    ("gen_ai.operation.name", OPERATION_KINDS),
    ("openinference.span.kind", {
        "llm": "llm", "chain": "chain", "tool": "tool", "agent": "agent", "retriever": "retrieval",
        "embedding": "embedding", "reranker": "retrieval", "guardrail": "chain",
        "evaluator": "chain", "prompt": "chain",
    }),
    ("traceloop.span.kind", {"workflow": "chain", "task": "chain", "agent": "agent", "tool": "tool"}),
    ("llm.request.type", {"chat": "llm", "completion": "llm", "embedding": "embedding", "rerank": "retrieval"}),
    ("langfuse.observation.type", {
        "generation": "llm", "embedding": "embedding", "agent": "agent", "tool": "tool",
        "chain": "chain", "retriever": "retrieval", "guardrail": "chain", "evaluator": "chain",
        "event": "other",
    }),
    ("langsmith.span.kind", {
        "llm": "llm", "chain": "chain", "tool": "tool", "retriever": "retrieval",
        "embedding": "embedding", "prompt": "chain", "parser": "chain",
    }),
    ("ai.operationId", {
        "ai.generatetext.dogenerate": "llm", "ai.streamtext.dostream": "llm",
        "ai.generateobject.dogenerate": "llm", "ai.streamobject.dostream": "llm",
        "ai.embed.doembed": "embedding", "ai.embedmany.doembed": "embedding", "ai.toolcall": "tool",
        "ai.generatetext": "chain", "ai.streamtext": "chain", "ai.generateobject": "chain",
        "ai.streamobject": "chain", "ai.embed": "chain", "ai.embedmany": "chain",
    }),
)  # fmt: skip
NAME_KINDS = {
    "agent run": "agent", "running tool": "tool", "running tools": "chain",
    "litellm_request": "llm",
    "raw_gen_ai_request": "other",  # LiteLLM's raw record of its parent's request, not a call
}  # fmt: skip
# Methods instrumentations mark as LLM spans that send no request: LlamaIndex's
# `OpenAI._prepare_chat_with_tools` builds the call its sibling `achat` makes.
NOT_CALLS = frozenset({"_prepare_chat_with_tools"})
NAME_SUFFIX_KINDS = {
    "workflow": "chain", "task": "chain", "agent": "agent", "tool": "tool", "chat": "llm",
    "completion": "llm", "embeddings": "embedding",
}  # fmt: skip

DOTTED_PROVIDERS = frozenset(
    ("aws.bedrock", "azure.ai.inference", "azure.ai.openai", "gcp.gemini", "gcp.gen_ai",
     "gcp.vertex_ai", "ibm.watsonx.ai")
)  # fmt: skip
PROVIDER_RENAMES = {
    "az.ai.openai": "azure.ai.openai", "az.ai.inference": "azure.ai.inference",
    "vertex_ai": "gcp.vertex_ai", "vertexai": "gcp.vertex_ai", "gemini": "gcp.gemini",
    "xai": "x_ai", "mistralai": "mistral_ai", "moonshot": "moonshot_ai",
}  # fmt: skip
_provider_cache: dict[str, str] = {}

LANGFUSE_USAGE = "langfuse.observation.usage_details"
LANGFUSE_COST = "langfuse.observation.cost_details"
LANGFUSE_CACHE_READ = (
    "input_cached_tokens",
    "input_cache_read",
    "cache_read_input_tokens",
    "prompt_details.cache_read",
)
LANGFUSE_CACHE_WRITE = ("input_cache_creation", "input_cache_write", "cache_creation_input_tokens")
LANGFUSE_REASONING = ("output_reasoning", "output_reasoning_tokens", "completion_details.reasoning")


def map_attributes(attrs: dict, name: str = "", events: list | tuple = ()) -> dict[str, Any]:
    """Canonical columns (DESIGN §2) from one span's plain attribute dict; pure."""
    if events:
        attrs = {**messages_from_events(events), **attrs}
    found, ranks, convention = _scan(attrs)
    kind = resolve_kind(attrs, name, found)
    if kind == "llm" and name.rpartition(".")[2] in NOT_CALLS:
        kind = "other"
    columns = {
        "convention": convention,
        "kind": kind,
        "agent_name": text_value(found.get("agent_name")),
        "session_id": text_value(found.get("session_id")),
        "task_id": text_value(_task_id(found, attrs)),
        "score": as_float(found.get("score")),
        "error_type": text_value(found.get("error_type")),
        "error_message": text_value(found.get("error_message")),
        "error_flagged": attrs.get("error.type") not in (None, "")
        or attrs.get("langfuse.observation.level") == "ERROR",
    }
    if columns["agent_name"] is None and kind == "agent" and _openinference_agent(attrs):
        columns["agent_name"] = text_value(attrs.get("graph.node.id")) or _agent_by_span_name(name)
    _models(found, attrs, columns)
    _tokens(found, attrs, columns)
    columns.update(span_content(found, ranks, attrs, kind))
    return columns


def _openinference_agent(attrs: dict) -> bool:
    return str(attrs.get("openinference.span.kind", "")).upper() == "AGENT"


def _agent_by_span_name(name: str) -> str | None:
    """The agent an OpenInference AGENT span's name gives, as its instrumentations name it:
    `weather_agent`, or smolagents' `weather_agent.run`; none for a default workflow name."""
    if not name or name in UNNAMED_AGENT_SPANS:
        return None
    return name.removesuffix(".run") or name


def _scan(attrs: dict) -> tuple[dict[str, Any], dict[str, int], str | None]:
    """One pass: the best-ranked value per column, the ranks, and the most specific convention."""
    found: dict[str, Any] = {}
    ranks: dict[str, int] = {}
    convention, convention_rank = None, 99
    for key, value in attrs.items():
        slot = SLOTS.get(key)
        if slot is None or value is None or value == "":
            continue
        column, rank, marker_rank, marker = slot
        if column is not None:
            held = ranks.get(column)
            if held is None or rank < held:
                ranks[column] = rank
                found[column] = value
        if marker_rank < convention_rank:
            convention, convention_rank = marker, marker_rank
    return found, ranks, convention


def resolve_kind(attrs: dict, name: str, found: dict) -> str:
    """agent/llm/tool/retrieval/embedding/chain/other, first source that knows wins."""
    for key, table in KIND_SOURCES:
        value = attrs.get(key)
        if value:
            kind = table.get(str(value).lower())
            if kind is not None:
                return kind
    kind = _kind_from_name(name or "")
    if kind is not None:
        return kind
    if "tool_name" in found or "tool_call_id" in found:
        return "tool"
    if "request_model" in found or "response_model" in found:
        return "llm"
    return "other"


def _kind_from_name(name: str) -> str | None:
    kind = OPERATION_KINDS.get(name.partition(" ")[0]) or NAME_KINDS.get(name)
    if kind is None and "." in name:
        kind = NAME_SUFFIX_KINDS.get(name.rpartition(".")[2].lower())
    return kind


def normalise_provider(value: Any) -> str | None:
    """Provider as `gen_ai.provider.name` spells it: old values renamed, `openai.chat` -> `openai`."""
    if value is None:
        return None
    text = str(value)
    cached = _provider_cache.get(text)
    if cached is None:
        provider = PROVIDER_RENAMES.get(text.strip().lower(), text.strip().lower())
        if "." in provider and provider not in DOTTED_PROVIDERS:
            head = provider.partition(".")[0]
            provider = PROVIDER_RENAMES.get(head, head)
        cached = _provider_cache.setdefault(text, provider)
    return cached


def _models(found: dict, attrs: dict, columns: dict) -> None:
    request = found.get("request_model")
    if request is None and "llm.invocation_parameters" in attrs:
        params = loads_json_text(attrs["llm.invocation_parameters"])
        request = params.get("model") if isinstance(params, dict) else None
    response = found.get("response_model")
    request = None if request is None else str(request)
    columns["model"] = str(response) if response is not None else request
    columns["request_model"] = request
    columns["provider"] = normalise_provider(found.get("provider"))


def _tokens(found: dict, attrs: dict, columns: dict) -> None:
    tokens = dict.fromkeys(TOKEN_COLUMNS)
    for column in TOKEN_COLUMNS:
        if column in found:
            tokens[column] = as_int(found[column])
    if tokens["input_tokens"] is None and LANGFUSE_USAGE in attrs:
        tokens = _langfuse_tokens(attrs[LANGFUSE_USAGE], tokens)
    include_cache_and_reasoning(tokens)
    columns.update(tokens)
    cost = as_float(found.get("cost_usd"))
    if cost is None and LANGFUSE_COST in attrs:
        details = loads_json_text(attrs[LANGFUSE_COST])
        cost = as_float(details.get("total")) if isinstance(details, dict) else None
    columns["cost_usd"] = cost


def _langfuse_tokens(raw: Any, tokens: dict) -> dict:
    """Langfuse usage_details exclude cache from `input` and reasoning from `output`: add them back."""
    details = loads_json_text(raw)
    if not isinstance(details, dict):
        return tokens
    cache_read = tokens["cache_read_tokens"] or _first_int(details, LANGFUSE_CACHE_READ)
    cache_write = tokens["cache_write_tokens"] or _first_int(details, LANGFUSE_CACHE_WRITE)
    reasoning = tokens["reasoning_tokens"] or _first_int(details, LANGFUSE_REASONING)
    uncached, visible = as_int(details.get("input")), as_int(details.get("output"))
    return {
        "input_tokens": None
        if uncached is None
        else uncached + (cache_read or 0) + (cache_write or 0),
        "output_tokens": None if visible is None else visible + (reasoning or 0),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": reasoning,
    }


def _first_int(details: dict, keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = as_int(details.get(key))
        if value is not None:
            return value
    return None


def _task_id(found: dict, attrs: dict) -> Any:
    """`task.id`-style attributes, else a `task_id` inside a metadata JSON attribute."""
    if "task_id" in found:
        return found["task_id"]
    for key in ("metadata", "langfuse.trace.metadata", "langfuse.observation.metadata"):
        raw = attrs.get(key)
        if raw is not None and "task_id" in (raw if isinstance(raw, (str, dict)) else ""):
            metadata = loads_json_text(raw)
            if isinstance(metadata, dict) and metadata.get("task_id") not in (None, ""):
                return metadata["task_id"]
    return None
