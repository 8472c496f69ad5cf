"""The demo generator's simulation: models, tools, and `Run`, which plays one trajectory.

Why a simulation rather than literal numbers in the scripts: token counts, cache reads and
timings must agree with each other (input grows turn by turn, caches expire after idle waits,
calls take time to first token plus tokens per second), so they are computed from a clock and a
growing context window instead of being written by hand. Every random draw comes from a
generator seeded with SEED and a name, so the output never depends on the order of the runs.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

SEED = 142
END = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
NS = 1_000_000_000

# alias: provider, dated response model, seconds to first token, output tokens/s, reasons
MODELS = {
    "gpt-4.1-mini": ("openai", "gpt-4.1-mini-2025-04-14", 0.35, 105, False),
    "gpt-4.1": ("openai", "gpt-4.1-2025-04-14", 0.6, 62, False),
    "o4-mini": ("openai", "o4-mini-2025-04-16", 0.9, 150, True),
    "o3": ("openai", "o3-2025-04-16", 1.4, 80, True),
    "claude-haiku-4-5": ("anthropic", "claude-haiku-4-5-20251001", 0.45, 125, False),
    "claude-sonnet-4": ("anthropic", "claude-sonnet-4-20250514", 0.8, 68, False),
    "claude-opus-4-1": ("anthropic", "claude-opus-4-1-20250805", 1.3, 42, False),
}
CACHE_TTL_S = 300  # prompt caches expire after about five idle minutes

# tool: seconds min/max, hidden output tokens min/max (outputs here are excerpts of longer ones)
TOOL_PROFILE = {
    "read_file": (0.05, 0.3, 500, 2200),
    "search_code": (0.3, 1.6, 40, 300),
    "edit_file": (0.08, 0.4, 0, 20),
    "run_tests": (2.5, 9.5, 60, 600),
    "run_mypy": (1.5, 6.0, 10, 80),
    "git_log": (0.1, 0.5, 100, 400),
    "get_ci_log": (0.9, 4.5, 800, 2000),
    "describe_table": (0.1, 0.6, 80, 300),
    "run_sql": (0.3, 6.5, 50, 600),
    "plot_chart": (0.5, 2.5, 0, 10),
    "web_search": (0.6, 2.8, 300, 900),
    "fetch_url": (0.4, 7.5, 900, 3500),
    "calculator": (0.05, 0.1, 0, 5),
}
DEFAULT_PROFILE = (0.12, 1.2, 10, 120)


@dataclass(frozen=True)
class Agent:
    name: str
    system: str
    system_tokens: int  # system prompt plus tool schemas
    session_prefix: str


@dataclass
class Call:
    name: str
    args: dict
    result: str
    error: str | None = None  # error type; `result` is then what the agent was told


@dataclass
class Span:
    key: str
    kind: str  # agent | llm | tool
    start: int
    end: int = 0
    model: str | None = None
    usage: dict | None = None
    call: Call | None = None
    call_id: str | None = None
    sent: list = field(default_factory=list)  # messages new since the previous model call
    reply: dict | None = None
    error: tuple[str, str] | None = None


def _seed_text(parts: tuple) -> str:
    return ":".join(map(str, (SEED, *parts)))


def seeded(*parts: object) -> random.Random:
    """A random generator of its own for each named thing, so runs do not disturb each other."""
    return random.Random(_seed_text(parts))


def hexid(*parts: object, n: int = 32) -> str:
    return hashlib.sha256(_seed_text(parts).encode()).hexdigest()[:n]


def uuid_of(*parts: object) -> str:
    return str(uuid.UUID(hex=hexid(*parts), version=4))


def tokens_of(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def dumps(value: object, *, sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)


def utc_stamp(ns: int, layout: str) -> str:
    """`layout` (strftime) for the whole seconds, followed by six digits of microseconds."""
    stamp = datetime.fromtimestamp(ns // NS, tz=UTC).strftime(layout)
    return f"{stamp}{ns % NS // 1000:06d}"


def iso(ns: int, zone: str = "Z") -> str:
    return utc_stamp(ns, "%Y-%m-%dT%H:%M:%S.") + zone


def request_model(alias: str) -> str:
    """Anthropic clients usually ask for the dated model id; OpenAI clients for the alias."""
    provider, resolved = MODELS[alias][:2]
    return resolved if provider == "anthropic" else alias


def call_id(provider: str, *parts: object) -> str:
    return ("toolu_01" if provider == "anthropic" else "call_") + hexid("call", *parts, n=22)


class Run:
    """One trajectory: a clock, the context the next model call will see, and its spans."""

    def __init__(self, agent: Agent, key: str, start: int, prompt: str, options: dict):
        self.agent, self.prompt, self.options = agent, prompt, options
        self.key = f"{agent.name}/{key}"
        self.rng = seeded(self.key)
        self.trace_id = hexid(self.key)
        self.session = agent.session_prefix + hexid(self.key, "session", n=24)
        self.root = Span("root", "agent", start)
        self.spans: list[Span] = []
        self.clock = start
        self._advance(self.rng.uniform(0.01, 0.05))
        self.context = agent.system_tokens + tokens_of(prompt)
        system = agent.system
        if "nocache" in options:  # a timestamp first: no two requests share a cacheable prefix
            system = f"Current time: {iso(start)}. {system}"
        self.pending = [{"role": "system", "text": system}, {"role": "user", "text": prompt}]
        self.previous: tuple[str, int] | None = None
        self.answer = ""

    def _advance(self, seconds: float) -> None:
        self.clock += round(seconds * 1e6) * 1000

    def _add(self, kind: str, seconds: float, **fields) -> Span:
        span = Span(f"{kind}-{len(self.spans) + 1}", kind, self.clock, **fields)
        self._advance(seconds)
        span.end = self.clock
        self.spans.append(span)
        self._advance(self.rng.uniform(0.004, 0.05))
        return span

    def llm(self, model: str, text: str = "", calls=(), error=None) -> list[str]:
        provider, _, ttft, tps, reasons = MODELS[model]
        if error:
            self._add(
                "llm", self.rng.uniform(0.6, 2.5), model=model, sent=self.pending, error=error
            )
            return []
        reasoning = self._reasoning() if reasons else (0 if provider == "openai" else None)
        visible = tokens_of(text) + sum(tokens_of(dumps(c.args)) + 12 for c in calls)
        usage = self._usage(model, visible + self.rng.randint(4, 30), reasoning)
        seconds = ttft + usage["input"] / 80_000 + usage["output"] / tps
        seconds = min(19.8, max(0.6, seconds * self.rng.uniform(0.85, 1.2)))
        ids = [call_id(provider, self.key, len(self.spans), i) for i in range(len(calls))]
        reply = {"role": "assistant", "text": text, "calls": list(zip(ids, calls, strict=True))}
        self._add("llm", seconds, model=model, usage=usage, sent=self.pending, reply=reply)
        self.pending = []
        self.answer = text if not calls else self.answer
        return ids

    def _reasoning(self) -> int:
        if not any(span.kind == "llm" for span in self.spans):
            return self.rng.randint(700, 2600)
        return 0 if self.rng.random() < 0.3 else self.rng.randint(80, 900)

    def _usage(self, model: str, visible: int, reasoning: int | None) -> dict:
        """Input grows turn by turn; the prefix sent last time is what the provider cached."""
        prompt = self.context
        same_model = self.previous is not None and self.previous[0] == model
        expired = bool(self.spans) and self.clock - self.spans[-1].end > CACHE_TTL_S * NS
        prior = self.previous[1] if same_model and not expired else 0
        usage = {"input": prompt, "output": visible + (reasoning or 0), "reasoning": reasoning}
        usage.update(cache_read=0, cache_write=None)
        cached = "nocache" not in self.options
        if MODELS[model][0] == "anthropic":
            tail = min(self.rng.randint(3, 14), (prompt - prior) // 2)
            usage["cache_read"] = prior if cached else 0
            usage["cache_write"] = prompt - prior - tail if cached else 0
        elif cached and prior >= 1024:
            usage["cache_read"] = prior // 128 * 128
        self.previous = (model, prompt)
        self.context += visible
        return usage

    def act(self, model: str, thought: str, calls: list[Call]) -> None:
        ids = self.llm(model, thought, calls)
        begin, ends = self.clock, []
        for index, (call, cid) in enumerate(zip(calls, ids, strict=True)):
            self.clock = begin + index * 1000 * self.rng.randint(200, 9000)  # dispatched together
            ends.append(self._tool(call, cid).end)
        self.clock = max(ends)
        self._advance(self.rng.uniform(0.004, 0.05))

    def _tool(self, call: Call, cid: str) -> Span:
        low, high, hidden_low, hidden_high = TOOL_PROFILE.get(call.name, DEFAULT_PROFILE)
        same_output = seeded(call.name, call.result)
        hidden = 0 if call.error else same_output.randint(hidden_low, hidden_high)
        self.context += tokens_of(call.result) + hidden + 6
        self.pending.append({"role": "tool", "id": cid, "name": call.name, "text": call.result})
        error = (call.error, call.result.removeprefix(f"{call.error}: ")) if call.error else None
        return self._add("tool", self.rng.uniform(low, high), call=call, call_id=cid, error=error)

    def wait(self, seconds: float, text: str) -> None:
        """The agent waits for a person: no span covers this time, so it counts as idle."""
        self._advance(seconds)
        self.pending.append({"role": "user", "text": text})
        self.context += tokens_of(text) + 4

    def finish(self) -> Run:
        self._advance(self.rng.uniform(0.005, 0.03))
        self.root.end = self.clock
        if "error" in self.options:
            kind, _, message = self.options["error"].partition(": ")
            self.root.error = (kind, message)
        return self

    @property
    def score(self) -> float | None:
        return float(self.options["score"]) if "score" in self.options else None

    def models(self) -> list[str]:
        return [span.model for span in self.spans if span.kind == "llm"]
