"""Encoders: one simulated `Run` as span JSONL rows, an OTLP/JSON line, or LangSmith runs.

Why three formats: they are what users really upload (canonical span JSONL, an OpenTelemetry
SDK's OTLP/JSON export with GenAI attributes, a LangSmith `list_runs()` dump), so the demo
exercises each adapter on records shaped exactly like the real thing, ids and nesting included.
"""

from __future__ import annotations

from _model import MODELS, Run, Span, dumps, hexid, iso, request_model, utc_stamp, uuid_of

SERVERS = {"openai": "api.openai.com", "anthropic": "api.anthropic.com"}


def span_id(run: Run, span: Span) -> str:
    return hexid(run.key, span.key, n=16)


def response_id(run: Run, span: Span) -> str:
    prefix = "msg_01" if MODELS[span.model][0] == "anthropic" else "chatcmpl-"
    return prefix + hexid(run.key, span.key, "id", n=24)


def finish_reason(span: Span) -> str:
    """The provider's word for why the model stopped: to call tools, or done."""
    anthropic = MODELS[span.model][0] == "anthropic"
    tools, done = ("tool_use", "end_turn") if anthropic else ("tool_calls", "stop")
    return tools if span.reply["calls"] else done


def openai_message(message: dict) -> dict:
    if message["role"] == "tool":
        return {"role": "tool", "tool_call_id": message["id"], "content": message["text"]}
    if message["role"] != "assistant":
        return {"role": message["role"], "content": message["text"]}
    out = {"role": "assistant", "content": message["text"] or None}
    if message["calls"]:
        out["tool_calls"] = [
            {
                "id": cid,
                "type": "function",
                "function": {"name": c.name, "arguments": dumps(c.args)},
            }
            for cid, c in message["calls"]
        ]
    return out


def genai_message(message: dict) -> dict:
    """A message in the OTel GenAI parts shape (gen-ai-input-messages.json)."""
    if message["role"] == "tool":
        part = {"type": "tool_call_response", "id": message["id"], "response": message["text"]}
        return {"role": "tool", "parts": [part]}
    parts = [{"type": "text", "content": message["text"]}] if message["text"] else []
    if message["role"] != "assistant":
        return {"role": message["role"], "parts": parts}
    parts += [
        {"type": "tool_call", "id": cid, "name": c.name, "arguments": c.args}
        for cid, c in message["calls"]
    ]
    finish = "tool_call" if message["calls"] else "stop"
    return {"role": "assistant", "parts": parts, "finish_reason": finish}


def _compact(record: dict) -> dict:
    return {key: value for key, value in record.items() if value is not None}


def jsonl_records(run: Run) -> list[dict]:
    """Span JSONL with canonical column names (ingest/span_jsonl.py)."""
    root = _jsonl_base(run, run.root, run.agent.name, None)
    root.update(session_id=run.session, task_id=run.options.get("task"), input=run.prompt)
    root.update(output=run.answer or None, score=run.score)
    records = [root]
    for span in run.spans:
        if span.kind == "llm":
            record = _jsonl_base(run, span, f"chat {request_model(span.model)}", run.root)
            record.update(_jsonl_llm(span))
        else:
            record = _jsonl_base(run, span, span.call.name, run.root)
            record.update(tool_name=span.call.name, tool_call_id=span.call_id)
            record.update(tool_args=dumps(span.call.args, sort_keys=True), output=span.call.result)
        records.append(record)
    return [_compact(record) for record in records]


def _jsonl_base(run: Run, span: Span, name: str, parent: Span | None) -> dict:
    error_type, error_message = span.error or (None, None)
    return {
        "trace_id": run.trace_id,
        "span_id": span_id(run, span),
        "parent_id": span_id(run, parent) if parent else None,
        "name": name,
        "kind": span.kind,
        "start_time": iso(span.start),
        "end_time": iso(span.end),
        "status": "error" if span.error else "ok",
        "error_type": error_type,
        "error_message": error_message,
        "agent_name": run.agent.name,
    }


def _jsonl_llm(span: Span) -> dict:
    provider, resolved = MODELS[span.model][:2]
    usage = span.usage or {}
    return {
        "model": resolved if span.usage else request_model(span.model),
        "request_model": request_model(span.model),
        "provider": provider,
        "input_tokens": usage.get("input"),
        "output_tokens": usage.get("output"),
        "reasoning_tokens": usage.get("reasoning"),
        "cache_read_tokens": usage.get("cache_read"),
        "cache_write_tokens": usage.get("cache_write"),
        "input": dumps([openai_message(m) for m in span.sent]),
        "output": dumps(openai_message(span.reply)) if span.reply else None,
    }


OTLP_RESOURCE = {
    "service.name": "support-bot",
    "service.version": "2.14.0",
    "deployment.environment.name": "production",
    "telemetry.sdk.language": "python",
    "telemetry.sdk.name": "opentelemetry",
    "telemetry.sdk.version": "1.38.0",
}
OTLP_SCOPE = {"name": "support_bot.telemetry", "version": "2.14.0"}
SPAN_KIND_INTERNAL, SPAN_KIND_CLIENT, STATUS_ERROR = 1, 3, 2


def otlp_value(value: object) -> dict:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [otlp_value(item) for item in value]}}
    return {"stringValue": str(value)}


def otlp_attributes(values: dict) -> list[dict]:
    return [{"key": k, "value": otlp_value(v)} for k, v in values.items() if v is not None]


def otlp_line(run: Run) -> dict:
    """One TracesData per trace, spans in export (end-time) order as an SDK writes them."""
    children = sorted(run.spans, key=lambda span: (span.end, span.key))
    spans = [otlp_chat(run, s) if s.kind == "llm" else otlp_tool(run, s) for s in children]
    scope_spans = [{"scope": OTLP_SCOPE, "spans": spans + [otlp_root(run)]}]
    resource = {"attributes": otlp_attributes(OTLP_RESOURCE)}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": scope_spans}]}


def _otlp_span(run: Run, span: Span, name: str, kind: int, attributes: dict) -> dict:
    out = {"traceId": run.trace_id, "spanId": span_id(run, span)}
    if span is not run.root:
        out["parentSpanId"] = span_id(run, run.root)
    out.update(name=name, kind=kind)
    out.update(startTimeUnixNano=str(span.start), endTimeUnixNano=str(span.end))
    if span.error:
        attributes["error.type"] = span.error[0]
    out["attributes"] = otlp_attributes(attributes)
    if span.error:
        exception = {"exception.type": span.error[0], "exception.message": span.error[1]}
        event = {"timeUnixNano": str(span.end), "name": "exception"}
        out["events"] = [{**event, "attributes": otlp_attributes(exception)}]
    out["status"] = {"message": span.error[1], "code": STATUS_ERROR} if span.error else {}
    out["flags"] = 256
    return out


def otlp_root(run: Run) -> dict:
    first = run.models()[0]
    attributes = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": MODELS[first][0],
        "gen_ai.agent.name": run.agent.name,
        "gen_ai.conversation.id": run.session,
        "gen_ai.request.model": request_model(first),
    }
    name = f"invoke_agent {run.agent.name}"
    span = _otlp_span(run, run.root, name, SPAN_KIND_INTERNAL, attributes)
    if run.score is not None:
        label = "satisfied" if run.score >= 0.5 else "unsatisfied"
        evaluation = {"gen_ai.evaluation.name": "csat", "gen_ai.evaluation.score.value": run.score}
        evaluation["gen_ai.evaluation.score.label"] = label
        event = {"timeUnixNano": str(run.root.end), "name": "gen_ai.evaluation.result"}
        span.setdefault("events", []).append({**event, "attributes": otlp_attributes(evaluation)})
    return span


def otlp_chat(run: Run, span: Span) -> dict:
    provider, resolved = MODELS[span.model][:2]
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": request_model(span.model),
    }
    if span.usage:
        attributes.update(_otlp_usage(run, span, resolved))
    system = [m["text"] for m in span.sent if m["role"] == "system"]
    if system:
        attributes["gen_ai.system_instructions"] = dumps([{"type": "text", "content": system[0]}])
    messages = [genai_message(m) for m in span.sent if m["role"] != "system"]
    attributes["gen_ai.input.messages"] = dumps(messages)
    if span.reply:
        attributes["gen_ai.output.messages"] = dumps([genai_message(span.reply)])
    attributes["server.address"] = SERVERS[provider]
    name = f"chat {request_model(span.model)}"
    return _otlp_span(run, span, name, SPAN_KIND_CLIENT, attributes)


def _otlp_usage(run: Run, span: Span, resolved: str) -> dict:
    usage = span.usage
    return {
        "gen_ai.response.model": resolved,
        "gen_ai.response.id": response_id(run, span),
        "gen_ai.response.finish_reasons": [finish_reason(span)],
        "gen_ai.usage.input_tokens": usage["input"],
        "gen_ai.usage.output_tokens": usage["output"],
        "gen_ai.usage.cache_read.input_tokens": usage["cache_read"],
        "gen_ai.usage.cache_creation.input_tokens": usage["cache_write"],
        "gen_ai.usage.reasoning.output_tokens": usage["reasoning"],
    }


def otlp_tool(run: Run, span: Span) -> dict:
    call = span.call
    attributes = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": call.name,
        "gen_ai.tool.call.id": span.call_id,
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.arguments": dumps(call.args),
        "gen_ai.tool.call.result": None if call.error else call.result,
    }
    return _otlp_span(run, span, f"execute_tool {call.name}", SPAN_KIND_INTERNAL, attributes)


LANGSMITH_PROJECT = uuid_of("langsmith-project")


def dotted(ns: int, run_id: str) -> str:
    return f"{utc_stamp(ns, '%Y%m%dT%H%M%S')}Z{run_id}"


def langsmith_records(run: Run) -> list[dict]:
    """Runs as `client.list_runs()` returns them: flat, linked by parent_run_id/dotted_order."""
    root_id = uuid_of(run.key, "root")
    root_order = dotted(run.root.start, root_id)
    records = [_ls_root(run, root_id, root_order)]
    for span in run.spans:
        run_id = uuid_of(run.key, span.key)
        record = _ls_base(run, span, run_id, root_id, f"{root_order}.{dotted(span.start, run_id)}")
        record.update(_ls_llm(run, span) if span.kind == "llm" else _ls_tool(run, span))
        records.append(record)
    return sorted(records, key=lambda record: record["dotted_order"])


def _ls_base(run: Run, span: Span, run_id: str, root_id: str | None, order: str) -> dict:
    return {
        "id": run_id,
        "trace_id": root_id or run_id,
        "parent_run_id": root_id,
        "parent_run_ids": [root_id] if root_id else [],
        "dotted_order": order,
        "session_id": LANGSMITH_PROJECT,
        "start_time": iso(span.start, ""),
        "end_time": iso(span.end, ""),
        "status": "error" if span.error else "success",
        "error": f"{span.error[0]}: {span.error[1]}" if span.error else None,
        "events": [],
        "tags": [],
        "reference_example_id": None,
        "feedback_stats": None,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_tokens": 0,
    }


def _ls_root(run: Run, root_id: str, order: str) -> dict:
    record = _ls_base(run, run.root, root_id, None, order)
    calls = [span.usage for span in run.spans if span.usage]
    prompt, completion = sum(u["input"] for u in calls), sum(u["output"] for u in calls)
    record.update(name=run.agent.name, run_type="chain", inputs={"question": run.prompt})
    record.update(outputs=None if run.root.error else {"answer": run.answer})
    record.update(prompt_tokens=prompt, completion_tokens=completion)
    record["total_tokens"] = prompt + completion
    record["extra"] = {"metadata": {**_ls_metadata(run), "revision_id": "research-agent@1.8.2"}}
    record["tags"] = ["research-agent", "production"]
    if "example" in run.options:
        record["reference_example_id"] = uuid_of("example", run.options["example"])
        record["tags"] = ["research-agent", "eval:research-qa-v3"]
    if run.score is not None:
        record["feedback_stats"] = {"correctness": {"n": 1, "avg": run.score, "values": {}}}
    return record


def _ls_llm(run: Run, span: Span) -> dict:
    provider, resolved, ttft = MODELS[span.model][:3]
    metadata = {"ls_provider": provider, "ls_model_name": span.model, "ls_model_type": "chat"}
    record = {
        "name": "ChatOpenAI",
        "run_type": "llm",
        "inputs": {"messages": [openai_message(m) for m in span.sent]},
        "outputs": None,
        "extra": {"metadata": {**metadata, **_ls_metadata(run)}},
    }
    if span.usage:
        usage = span.usage
        record["outputs"] = _ls_completion(run, span, resolved)
        record.update(prompt_tokens=usage["input"], completion_tokens=usage["output"])
        record["total_tokens"] = usage["input"] + usage["output"]
        record["prompt_token_details"] = {"cache_read": usage["cache_read"]}
        record["completion_token_details"] = {"reasoning": usage["reasoning"]}
        record["first_token_time"] = iso(span.start + round(ttft * 1e6) * 1000, "")
    return record


def _ls_completion(run: Run, span: Span, resolved: str) -> dict:
    usage = span.usage
    choice = {
        "index": 0,
        "message": openai_message(span.reply),
        "finish_reason": finish_reason(span),
    }
    return {
        "id": response_id(run, span),
        "object": "chat.completion",
        "model": resolved,
        "choices": [choice],
        "usage_metadata": {
            "input_tokens": usage["input"],
            "output_tokens": usage["output"],
            "total_tokens": usage["input"] + usage["output"],
            "input_token_details": {"cache_read": usage["cache_read"]},
            "output_token_details": {"reasoning": usage["reasoning"]},
        },
    }


def _ls_tool(run: Run, span: Span) -> dict:
    call = span.call
    outputs = None if call.error else {"output": call.result}
    record = {"name": call.name, "run_type": "tool", "inputs": call.args, "outputs": outputs}
    return {**record, "extra": {"metadata": _ls_metadata(run)}}


def _ls_metadata(run: Run) -> dict:
    """LangGraph passes the run config's metadata down to every child run."""
    return {"lc_agent_name": run.agent.name, "thread_id": run.session}
