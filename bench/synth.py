"""Synthetic agent trajectories shaped like a team's real traffic, independent of any format.

One trajectory is an agent run: a root agent span, then turns of one LLM call followed by
the tool calls it asked for (sometimes two in parallel). The mix is what the analysis has
to see at scale: several providers and tiers, small-model runs that escalate to a large
model, stuck loops repeating one tool call, failing tools, errors on the final call, the
same task run on several models, conversations spanning several runs, and message content
of the size instrumentations really record (system prompt, task, recent tool exchanges).
Everything derives from one seeded RNG, so a given (seed, spans) always gives the same data.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

DAY_NS = 86_400 * 10**9
START_NS = 1_793_491_200 * 10**9  # 2026-11-01T00:00:00Z
DAYS = 28
LONG_RUN_SHARE = 0.0005  # the coding-agent sessions of hundreds of turns every fleet has

# (model, provider, tier, reasoning, cache) — names match rows of store/prices.py.
SMALL_MODELS = (
    ("gpt-4.1-mini", "openai", True, False),
    ("claude-haiku-4-5", "anthropic", False, True),
    ("gemini-2.5-flash", "gcp.gemini", False, True),
)
LARGE_MODELS = (
    ("gpt-4.1", "openai", False, True),
    ("claude-opus-4-5", "anthropic", False, True),
    ("gemini-2.5-pro", "gcp.gemini", True, True),
    ("o3", "openai", True, True),
)
ESCALATE_TO = {"gpt-4.1-mini": "gpt-4.1", "claude-haiku-4-5": "claude-opus-4-5", "gemini-2.5-flash": "gemini-2.5-pro"}  # fmt: skip
MODEL_INFO = {m[0]: m for m in SMALL_MODELS + LARGE_MODELS}

AGENTS = {
    "support-agent": ("lookup_order", "refund_order", "search_kb", "send_email"),
    "coding-agent": ("read_file", "run_tests", "edit_file", "grep"),
    "research-agent": ("web_search", "fetch_page", "summarise", "save_note"),
    "travel-agent": ("search_flights", "book_flight", "get_weather", "hotel_search"),
}
WORDS = [
    "order",
    "customer",
    "refund",
    "account",
    "invoice",
    "shipment",
    "delay",
    "policy",
    "test",
    "failure",
    "module",
    "import",
    "function",
    "error",
    "trace",
    "latency",
    "flight",
    "hotel",
    "booking",
    "weather",
    "forecast",
    "page",
    "source",
    "summary",
    "result",
    "status",
    "pending",
    "approved",
    "rejected",
    "timeout",
    "retry",
    "config",
    "deploy",
    "branch",
    "commit",
    "user",
    "request",
    "response",
    "cache",
    "token",
    "model",
    "prompt",
    "context",
    "window",
    "budget",
    "report",
    "metric",
    "region",
]


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _paragraph(rng: random.Random, chars: int) -> str:
    parts, size = [], 0
    while size < chars:
        part = _sentence(rng, rng.randint(6, 16))
        parts.append(part)
        size += len(part) + 1
    return " ".join(parts)


@dataclass(slots=True)
class Span:
    span_id: str
    parent_id: str | None
    name: str
    kind: str  # agent | llm | tool
    start_ns: int
    end_ns: int
    status: str = "ok"
    error_type: str | None = None
    error_message: str | None = None
    model: str | None = None
    provider: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_read_tokens: int | None = None
    input_text: str | None = None  # JSON text of GenAI messages, as SDKs record it
    output_text: str | None = None
    tool_name: str | None = None
    call_id: str | None = None
    args_text: str | None = None
    result_text: str | None = None
    tool_content_recorded: bool = True  # False: arguments/result only in the LLM messages


@dataclass(slots=True)
class Trajectory:
    trace_id: str
    agent: str
    session_id: str
    task_id: str | None
    task_text: str
    score: float | None
    spans: list[Span] = field(default_factory=list)


class World:
    """Pools drawn once (prompts, tasks, tool results) so each span costs little to make."""

    def __init__(self, rng: random.Random, trajectories: int):
        self.rng = rng
        self.system = {a: _paragraph(rng, 450) for a in AGENTS}
        task_count = max(4, trajectories // 8)
        self.tasks = [
            (f"task-{i:06d}", _paragraph(rng, rng.randint(120, 360)), rng.random())
            for i in range(task_count)
        ]
        self.results = [_paragraph(rng, rng.randint(80, 500)) for _ in range(512)]
        self.replies = [_paragraph(rng, rng.randint(60, 300)) for _ in range(256)]
        self.thoughts = [_sentence(rng, rng.randint(8, 20)) for _ in range(256)]


class TrajectoryMaker:
    """Makes trajectories one by one; `next_ids` keeps span ids unique across the whole file."""

    def __init__(self, seed: int, trajectories: int):
        self.rng = random.Random(seed)
        self.world = World(self.rng, trajectories)
        self.counter = 0
        self.session = None

    def _id(self, digits: int) -> str:
        return f"{self.rng.getrandbits(digits * 4):0{digits}x}"

    def make(self, span_budget: int) -> Trajectory:
        rng, world = self.rng, self.world
        agent = rng.choice(tuple(AGENTS))
        task_id, task_text, difficulty = rng.choice(world.tasks)
        if self.session is None or rng.random() < 0.6:
            self.session = f"conv-{self._id(12)}"
        trace = Trajectory(
            trace_id=self._id(32),
            agent=agent,
            session_id=self.session,
            task_id=task_id if rng.random() < 0.5 else None,
            task_text=task_text,
            score=None,
        )
        _Builder(self, trace, difficulty, span_budget).build()
        self.counter += 1
        return trace


class _Builder:
    """The turns of one trajectory: model choice, escalation, loops, tools, errors, times."""

    def __init__(self, maker: TrajectoryMaker, trace: Trajectory, difficulty: float, budget: int):
        self.maker, self.rng, self.world = maker, maker.rng, maker.world
        self.trace, self.difficulty, self.budget = trace, difficulty, max(budget, 1)
        small = self.rng.random() < 0.6
        pool = SMALL_MODELS if small else LARGE_MODELS
        self.model = self.rng.choice(pool)[0]
        self.escalate_at = self.rng.randint(2, 4) if small and self.rng.random() < 0.2 else None
        self.loop_at = self.rng.randint(1, 3) if self.rng.random() < 0.1 else None
        self.history: list[dict] = []
        self.clock = START_NS + self.rng.randrange(DAYS * DAY_NS)

    def build(self) -> None:
        rng, trace = self.rng, self.trace
        root = Span(self.maker._id(16), None, f"invoke_agent {trace.agent}", "agent", self.clock, 0)
        trace.spans.append(root)
        self.clock += rng.randint(2, 20) * 10**6
        turn = 0
        while len(trace.spans) < self.budget:
            turn += 1
            if self.escalate_at == turn:
                self.model = ESCALATE_TO[self.model]
            self._turn(root, turn)
        root.end_ns = self.clock + rng.randint(1, 10) * 10**6
        failed = next((s for s in trace.spans if s.kind == "llm" and s.status == "error"), None)
        if failed is not None:
            root.status, root.error_type = "error", failed.error_type
            root.error_message = failed.error_message
        if rng.random() < 0.3:
            tier_small = self.model in ESCALATE_TO
            solved = rng.random() > self.difficulty * (0.9 if tier_small else 0.4)
            trace.score = 0.0 if failed or not solved else 1.0

    def _turn(self, root: Span, turn: int) -> None:
        """One LLM call and the tools it asked for; the last span left is a final answer."""
        remaining = self.budget - len(self.trace.spans)
        final = remaining == 1
        room = remaining - 2  # keep one span for the final answer
        calls = self._tool_calls(turn, min(room, 2)) if room >= 1 else []
        llm = self._llm_span(root, turn, calls, final)
        self.trace.spans.append(llm)
        start = self.clock
        for call in calls:
            self.trace.spans.append(self._tool_span(root, call, start))
        self.clock += self.rng.randint(5, 60) * 10**6

    def _tool_calls(self, turn: int, room: int) -> list[dict]:
        rng = self.rng
        tools = AGENTS[self.trace.agent]
        if self.loop_at is not None and self.loop_at <= turn < self.loop_at + 4:
            return [self._call(tools[0], {"query": self.trace.task_text[:40]}, 7)]
        count = 2 if room >= 2 and rng.random() < 0.15 else 1
        return [
            self._call(rng.choice(tools), {"query": rng.choice(WORDS), "limit": rng.randint(1, 50)})
            for _ in range(count)
        ]

    def _call(self, tool: str, args: dict, result_index: int | None = None) -> dict:
        rng = self.rng
        index = rng.randrange(len(self.world.results)) if result_index is None else result_index
        failed = rng.random() < 0.05
        return {
            "id": f"call_{self.maker._id(12)}",
            "name": tool,
            "arguments": args,
            "result": "error: upstream timeout" if failed else self.world.results[index],
            "failed": failed,
        }

    def _llm_span(self, root: Span, turn: int, calls: list[dict], final: bool) -> Span:
        rng, world = self.rng, self.world
        name, provider, reasoning, cache = MODEL_INFO[self.model]
        messages = [
            {"role": "system", "parts": [{"type": "text", "content": world.system[self.trace.agent]}]},
            {"role": "user", "parts": [{"type": "text", "content": self.trace.task_text}]},
            *self.history[-2:],
        ]  # fmt: skip
        if calls:
            parts = [{"type": "text", "content": rng.choice(world.thoughts)}]
            parts += [{"type": "tool_call", "id": c["id"], "name": c["name"], "arguments": c["arguments"]} for c in calls]  # fmt: skip
            output = [{"role": "assistant", "parts": parts, "finish_reason": "tool_call"}]
        else:
            reply = {"type": "text", "content": rng.choice(world.replies)}
            output = [{"role": "assistant", "parts": [reply], "finish_reason": "stop"}]
        duration = rng.randint(400, 9000 if reasoning else 4000) * 10**6
        prompt = 900 + 700 * turn + rng.randint(0, 400)
        span = Span(
            self.maker._id(16), root.span_id, f"chat {name}", "llm", self.clock, self.clock + duration,
            model=name, provider=provider, input_tokens=prompt,
            output_tokens=rng.randint(20, 600), input_text=json.dumps(messages),
            output_text=json.dumps(output),
        )  # fmt: skip
        if reasoning:
            span.reasoning_tokens = rng.randint(0, span.output_tokens)
        if cache and turn > 1:
            span.cache_read_tokens = (prompt // 1024) * 1024 if rng.random() < 0.7 else 0
        if final and self.escalate_at is None and rng.random() < 0.03:
            span.status, span.error_type = "error", "RateLimitError"
            span.error_message = "429: rate limit exceeded"
        self.clock = span.end_ns + rng.randint(1, 30) * 10**6
        self.history = self.history[-2:] + output
        return span

    def _tool_span(self, root: Span, call: dict, start: int) -> Span:
        rng = self.rng
        end = start + rng.randint(20, 3000) * 10**6
        span = Span(
            self.maker._id(16), root.span_id, f"execute_tool {call['name']}", "tool", start, end,
            tool_name=call["name"], call_id=call["id"], args_text=json.dumps(call["arguments"]),
            result_text=call["result"], tool_content_recorded=rng.random() < 0.5,
        )  # fmt: skip
        if call["failed"]:
            span.status, span.error_type = "error", "TimeoutError"
            span.error_message = "upstream timeout"
        self.clock = max(self.clock, end)
        self.history.append(
            {"role": "tool", "parts": [{"type": "tool_call_response", "id": call["id"], "response": call["result"]}]}
        )  # fmt: skip
        return span


def trajectories(spans: int, seed: int = 7, mean_spans: int = 10) -> Iterator[Trajectory]:
    """Trajectories holding exactly `spans` spans in total, about `mean_spans` each (plus a
    rare long run of 300-3,000 spans)."""
    maker = TrajectoryMaker(seed, max(1, spans // mean_spans))
    left = spans
    while left > 0:
        long_run = maker.rng.random() < LONG_RUN_SHARE
        wanted = (
            maker.rng.randint(300, 3000) if long_run else maker.rng.randint(3, 2 * mean_spans - 3)
        )
        budget = left if left - wanted < 3 else wanted
        trace = maker.make(budget)
        left -= len(trace.spans)
        yield trace
