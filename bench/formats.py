"""The same synthetic trajectories written in each format AgentTime ingests at scale.

- OTLP JSON lines: what the Collector file exporter and SDK file exporters write, one
  `ExportTraceServiceRequest` per line holding a batch of spans (BatchSpanProcessor size).
- OTLP protobuf: the Collector file exporter's `format: proto` (4-byte length + message).
- span JSONL: one canonical span per line.
- LangSmith JSONL: `client.list_runs()` dumped one run per line, with dotted_order.
Each writer streams: a batch is encoded and written, then dropped.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bench.synth import Span, Trajectory

BATCH_SPANS = 512
SCOPE = {"name": "opentelemetry.instrumentation.genai", "version": "0.52b0"}
OTLP_KINDS = {"agent": 1, "llm": 3, "tool": 1}  # internal, client, internal
STATUS_CODES = {"ok": 0, "unset": 0, "error": 2}  # SDKs leave status unset on success


def _string(key: str, value: str) -> dict:
    return {"key": key, "value": {"stringValue": value}}


def _int(key: str, value: int) -> dict:
    return {"key": key, "value": {"intValue": str(value)}}


def span_attributes(trace: Trajectory, span: Span) -> list[tuple[str, object]]:
    """(key, value) GenAI attributes of a span, in the order an SDK would set them."""
    if span.kind == "agent":
        attrs = [("gen_ai.operation.name", "invoke_agent"), ("gen_ai.agent.name", trace.agent)]
        attrs.append(("gen_ai.conversation.id", trace.session_id))
        if trace.task_id is not None:
            attrs.append(("task.id", trace.task_id))
        if trace.score is not None:
            attrs.append(("gen_ai.evaluation.score.value", trace.score))
        return attrs
    if span.kind == "llm":
        attrs = [
            ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", span.provider),
            ("gen_ai.request.model", span.model), ("gen_ai.response.model", span.model),
            ("gen_ai.usage.input_tokens", span.input_tokens),
            ("gen_ai.usage.output_tokens", span.output_tokens),
        ]  # fmt: skip
        if span.reasoning_tokens is not None:
            attrs.append(("gen_ai.usage.reasoning.output_tokens", span.reasoning_tokens))
        if span.cache_read_tokens is not None:
            attrs.append(("gen_ai.usage.cache_read.input_tokens", span.cache_read_tokens))
        attrs += [("gen_ai.input.messages", span.input_text), ("gen_ai.output.messages", span.output_text)]  # fmt: skip
    else:
        attrs = [
            ("gen_ai.operation.name", "execute_tool"), ("gen_ai.tool.name", span.tool_name),
            ("gen_ai.tool.call.id", span.call_id), ("gen_ai.tool.type", "function"),
        ]  # fmt: skip
        if span.tool_content_recorded:
            attrs += [("gen_ai.tool.call.arguments", span.args_text), ("gen_ai.tool.call.result", span.result_text)]  # fmt: skip
    if span.error_type is not None:
        attrs.append(("error.type", span.error_type))
    return attrs


def _json_value(value: object) -> dict:
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"intValue": str(value)}


class OtlpJsonWriter:
    def __init__(self, path: Path):
        self.handle = path.open("wb")
        self.batch: dict[str, list[dict]] = {}
        self.count = 0

    def add(self, trace: Trajectory) -> None:
        spans = self.batch.setdefault(trace.agent, [])
        for span in trace.spans:
            spans.append(self._span(trace, span))
            self.count += 1
            if self.count == BATCH_SPANS:
                self.flush()
                spans = self.batch.setdefault(trace.agent, [])

    def _span(self, trace: Trajectory, span: Span) -> dict:
        body = {"traceId": trace.trace_id, "spanId": span.span_id}
        if span.parent_id:
            body["parentSpanId"] = span.parent_id
        body.update(
            name=span.name,
            kind=OTLP_KINDS[span.kind],
            startTimeUnixNano=str(span.start_ns),
            endTimeUnixNano=str(span.end_ns),
            attributes=[
                {"key": k, "value": _json_value(v)} for k, v in span_attributes(trace, span)
            ],
            status={"code": 2, "message": span.error_message} if span.status == "error" else {},
        )
        if span.status == "error":
            exception = [_string("exception.type", span.error_type), _string("exception.message", span.error_message)]  # fmt: skip
            body["events"] = [{"timeUnixNano": str(span.end_ns), "name": "exception", "attributes": exception}]  # fmt: skip
        return body

    def flush(self) -> None:
        if not self.count:
            return
        resource_spans = [
            {
                "resource": {
                    "attributes": [
                        _string("service.name", agent),
                        _string("telemetry.sdk.language", "python"),
                    ]
                },
                "scopeSpans": [{"scope": SCOPE, "spans": spans}],
            }  # fmt: skip
            for agent, spans in self.batch.items()
            if spans
        ]
        self.handle.write(orjson.dumps({"resourceSpans": resource_spans}) + b"\n")
        self.batch, self.count = {}, 0

    def close(self) -> None:
        self.flush()
        self.handle.close()


class OtlpProtobufWriter:
    """Collector `format: proto`: each message preceded by its 4-byte big-endian length."""

    def __init__(self, path: Path):
        self.handle = path.open("wb")
        self.request = ExportTraceServiceRequest()
        self.scopes: dict[str, object] = {}
        self.count = 0

    def add(self, trace: Trajectory) -> None:
        trace_id = bytes.fromhex(trace.trace_id)
        for span in trace.spans:
            self._span(self._scope(trace.agent), trace, trace_id, span)
            self.count += 1
            if self.count == BATCH_SPANS:
                self.flush()

    def _scope(self, agent: str):
        scope = self.scopes.get(agent)
        if scope is None:
            resource_spans = self.request.resource_spans.add()
            for key, value in (("service.name", agent), ("telemetry.sdk.language", "python")):
                kv = resource_spans.resource.attributes.add(key=key)
                kv.value.string_value = value
            scope = resource_spans.scope_spans.add()
            scope.scope.name, scope.scope.version = SCOPE["name"], SCOPE["version"]
            self.scopes[agent] = scope
        return scope

    def _span(self, scope, trace: Trajectory, trace_id: bytes, span: Span) -> None:
        pb = scope.spans.add(
            trace_id=trace_id,
            span_id=bytes.fromhex(span.span_id),
            parent_span_id=bytes.fromhex(span.parent_id) if span.parent_id else b"",
            name=span.name,
            kind=OTLP_KINDS[span.kind],
            start_time_unix_nano=span.start_ns,
            end_time_unix_nano=span.end_ns,
        )
        for key, value in span_attributes(trace, span):
            kv = pb.attributes.add(key=key)
            if isinstance(value, str):
                kv.value.string_value = value
            elif isinstance(value, float):
                kv.value.double_value = value
            else:
                kv.value.int_value = value
        if span.status == "error":
            pb.status.code, pb.status.message = 2, span.error_message
            event = pb.events.add(time_unix_nano=span.end_ns, name="exception")
            for key, value in (("exception.type", span.error_type), ("exception.message", span.error_message)):  # fmt: skip
                event.attributes.add(key=key).value.string_value = value

    def flush(self) -> None:
        if not self.count:
            return
        body = self.request.SerializeToString()
        self.handle.write(len(body).to_bytes(4, "big") + body)
        self.request, self.scopes, self.count = ExportTraceServiceRequest(), {}, 0

    def close(self) -> None:
        self.flush()
        self.handle.close()


class SpanJsonlWriter:
    def __init__(self, path: Path):
        self.handle = path.open("wb")

    def add(self, trace: Trajectory) -> None:
        lines = [orjson.dumps(self._record(trace, span)) for span in trace.spans]
        self.handle.write(b"\n".join(lines) + b"\n")

    def _record(self, trace: Trajectory, span: Span) -> dict:
        record = {
            "trace_id": trace.trace_id, "span_id": span.span_id, "parent_id": span.parent_id,
            "name": span.name, "kind": span.kind, "start_time": span.start_ns,
            "end_time": span.end_ns, "status": span.status, "agent_name": trace.agent,
            "session_id": trace.session_id, "service": trace.agent,
        }  # fmt: skip
        if span.status == "error":
            record.update(error_type=span.error_type, error_message=span.error_message)
        if span.kind == "agent":
            record.update(task_id=trace.task_id, score=trace.score)
        elif span.kind == "llm":
            record.update(
                model=span.model, provider=span.provider, input_tokens=span.input_tokens,
                output_tokens=span.output_tokens, reasoning_tokens=span.reasoning_tokens,
                cache_read_tokens=span.cache_read_tokens, input=span.input_text,
                output=span.output_text,
            )  # fmt: skip
        else:
            record.update(
                tool_name=span.tool_name, tool_call_id=span.call_id, tool_args=span.args_text,
                output=span.result_text,
            )  # fmt: skip
        return record

    def close(self) -> None:
        self.handle.close()


def _uuid(hex_text: str) -> str:
    return str(uuid.UUID(hex=hex_text))


def _iso(ns: int) -> str:
    seconds, rest = divmod(ns, 10**9)
    moment = datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=rest // 1000)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds")


class LangSmithWriter:
    """`list_runs()` output: LangChain-style runs with tokens on the LLM runs."""

    RUN_TYPES = {"agent": "chain", "llm": "llm", "tool": "tool"}

    def __init__(self, path: Path):
        self.handle = path.open("wb")

    def add(self, trace: Trajectory) -> None:
        trace_uuid = _uuid(trace.trace_id)
        orders: dict[str, str] = {}
        lines = []
        for span in trace.spans:
            run_id = _uuid(span.span_id + trace.trace_id[:16])
            stamp = _iso(span.start_ns).replace("-", "").replace(":", "").replace(".", "")
            own = f"{stamp}Z{run_id}"
            orders[span.span_id] = f"{orders[span.parent_id]}.{own}" if span.parent_id else own
            parent = _uuid(span.parent_id + trace.trace_id[:16]) if span.parent_id else None
            lines.append(orjson.dumps(self._run(trace, span, run_id, trace_uuid, parent, orders[span.span_id])))  # fmt: skip
        self.handle.write(b"\n".join(lines) + b"\n")

    def _run(self, trace, span: Span, run_id, trace_uuid, parent, dotted) -> dict:
        metadata = {"thread_id": trace.session_id, "agent_name": trace.agent}
        run = {
            "id": run_id, "trace_id": trace_uuid, "parent_run_id": parent, "dotted_order": dotted,
            "name": span.tool_name or span.name, "run_type": self.RUN_TYPES[span.kind],
            "start_time": _iso(span.start_ns), "end_time": _iso(span.end_ns),
            "status": "error" if span.status == "error" else "success",
            "error": f"{span.error_type}: {span.error_message}" if span.status == "error" else None,
            "extra": {"metadata": metadata}, "tags": [], "session_id": "5f6c0a52-0000-4000-8000-000000000001",
        }  # fmt: skip
        if span.kind == "agent":
            run["inputs"] = {"input": trace.task_text}
            run["reference_example_id"] = _uuid(f"{trace.task_id[5:]:0>32}") if trace.task_id else None  # fmt: skip
            if trace.score is not None:
                run["feedback_stats"] = {"correctness": {"n": 1, "avg": trace.score}}
        elif span.kind == "llm":
            metadata.update(ls_model_name=span.model, ls_provider=span.provider)
            run["inputs"] = {"messages": orjson.Fragment(span.input_text)}
            run["outputs"] = {"messages": orjson.Fragment(span.output_text)}
            run.update(
                prompt_tokens=span.input_tokens, completion_tokens=span.output_tokens,
                total_tokens=span.input_tokens + span.output_tokens,
            )  # fmt: skip
            details = {}
            if span.cache_read_tokens is not None:
                details["cache_read"] = span.cache_read_tokens
            run["prompt_token_details"] = details
            if span.reasoning_tokens is not None:
                run["completion_token_details"] = {"reasoning": span.reasoning_tokens}
        else:
            run["inputs"] = {"input": span.args_text}
            run["outputs"] = {"output": span.result_text}
        return run

    def close(self) -> None:
        self.handle.close()


WRITERS = {
    "otlp_json": ("otlp.jsonl", OtlpJsonWriter),
    "otlp_protobuf": ("otlp.binpb", OtlpProtobufWriter),
    "span_jsonl": ("spans.jsonl", SpanJsonlWriter),
    "langsmith": ("langsmith.jsonl", LangSmithWriter),
}
