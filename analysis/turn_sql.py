"""The turn rollup as set-based SQL over the staged spans (analysis.stage).

Same rules as the per-trace reference in analysis.turns / stuck / waste, written as window
functions so a refresh of a million spans never builds Python objects per turn:
- tool spans join the latest LLM call before them (`turn`, 0 = before the first call);
- a call is an error retry when the previous turn failed the same signature, else a repeat
  when the signature appeared earlier in the trajectory;
- the stuck rules are runs of equal keys (gaps and islands) and A-B-A-B stretches; a turn
  is stagnation under the first window (rule order, then position) holding it after its
  first turn;
- claims, their dollars and the evidence JSON follow analysis.waste, summing dollars in
  the same order so every float is the one the reference computes.
Equality keys are injective text encodings: only equality matters to the rules.
"""

from __future__ import annotations

TURN_SPANS_SQL = """
CREATE OR REPLACE TEMP TABLE turn_spans AS
SELECT s.span_rowid, s.trace_id, s.span_id, s.kind, s.status, s.model, s.tier,
       s.start_time, s.end_time, epoch_us(s.end_time) AS end_us, s.duration_ms, s.call_ttft_ms AS ttft_ms,
       s.input_tokens, s.output_tokens, s.reasoning_tokens, s.cache_read_tokens,
       s.cache_write_tokens, s.call_usd AS cost_usd, s.call_cost_source AS cost_source,
       s.call_vram_gb_min AS vram_gb_min, s.input_per_mtok, s.cached_per_mtok, s.refused,
       coalesce(s.tool_name, s.name) AS tool_name, s.tool_args, s.output_hash, s.short_output,
       sum(CASE WHEN s.kind = 'llm' THEN 1 ELSE 0 END) OVER w AS turn,
       row_number() OVER w AS ord
FROM refresh_spans s WHERE s.kind IN ('llm', 'tool')
WINDOW w AS (PARTITION BY s.trace_id ORDER BY s.start_time NULLS LAST, s.seq NULLS LAST,
             CASE s.kind WHEN 'llm' THEN 0 ELSE 1 END, s.span_id ROWS UNBOUNDED PRECEDING)
"""
TOOL_ARGS_SQL = """
SELECT DISTINCT tool_args FROM turn_spans WHERE kind = 'tool' AND tool_args IS NOT NULL
"""
# Replies the stuck rules read: short outputs of LLM calls that issued no tool call.
REPLIES_SQL = """
WITH wanted AS (
    SELECT l.span_rowid, l.trace_id, l.span_id, l.output_hash FROM turn_spans l
    WHERE l.kind = 'llm' AND l.short_output
      AND NOT EXISTS (SELECT 1 FROM turn_spans t
                      WHERE t.trace_id = l.trace_id AND t.turn = l.turn AND t.kind = 'tool')
), replies AS (  -- by rowid, so only these outputs are read (analysis.stage)
    SELECT rowid AS span_rowid, output FROM spans WHERE rowid IN (SELECT span_rowid FROM wanted)
)
SELECT w.trace_id, w.span_id, r.output, w.output_hash
FROM wanted w JOIN replies r USING (span_rowid)
"""

CALLS_SQL = """
CREATE OR REPLACE TEMP TABLE turn_calls AS
WITH c AS (
    SELECT t.trace_id, t.span_id, t.turn, t.ord, t.status, t.status = 'error' AS failed,
           t.tool_name, t.output_hash, t.end_us,
           CASE WHEN k.canon IS NOT NULL THEN to_json([t.tool_name, k.canon])::VARCHAR END AS sig
    FROM turn_spans t LEFT JOIN tool_canon k USING (tool_args)
    WHERE t.kind = 'tool'
), seen AS (
    SELECT *, min(ord) OVER (PARTITION BY trace_id, sig) AS first_ord,
           arg_min(span_id, ord) OVER (PARTITION BY trace_id, sig) AS first_span
    FROM c
), failed_last AS (
    SELECT trace_id, turn, sig, arg_max(span_id, ord) AS failed_span
    FROM c WHERE failed AND sig IS NOT NULL GROUP BY trace_id, turn, sig
)
SELECT s.* EXCLUDE (first_ord, first_span),
    CASE WHEN s.sig IS NULL THEN NULL
         WHEN f.failed_span IS NOT NULL THEN 'error_retry'
         WHEN s.first_ord < s.ord THEN 'repeated_tool_call' END AS claim,
    CASE WHEN s.sig IS NULL THEN NULL
         WHEN f.failed_span IS NOT NULL THEN f.failed_span
         WHEN s.first_ord < s.ord THEN s.first_span END AS earlier
FROM seen s LEFT JOIN failed_last f
    ON f.trace_id = s.trace_id AND f.sig = s.sig AND f.turn = s.turn - 1 AND s.turn > 0
"""

_CALL_LIST = "list({'span_id': span_id, 'tool_name': tool_name, 'earlier': earlier} ORDER BY ord)"
FACTS_SQL = f"""
CREATE OR REPLACE TEMP TABLE turn_facts AS
WITH tools AS (
    SELECT trace_id, turn, count(*) AS n_tools, count(*) FILTER (WHERE failed) AS n_failed,
        bool_or(sig IS NULL) AS unknown_sig, bool_or(output_hash IS NULL) AS unknown_result,
        to_json(list(sig ORDER BY sig))::VARCHAR AS sigs,
        -- compared only between turns of the same action (same sigs), so each result may
        -- keep its sig: sorting whole triples is cheaper than an ordered aggregate
        to_json(list_sort(list([sig, status, output_hash])))::VARCHAR AS results,
        count(end_us) = count(*) AS ends_known, max(end_us) AS max_end_us,
        count(*) FILTER (WHERE claim = 'error_retry') AS retries,
        count(*) FILTER (WHERE claim = 'repeated_tool_call') AS repeats,
        {_CALL_LIST} FILTER (WHERE claim = 'error_retry') AS retry_calls,
        {_CALL_LIST} FILTER (WHERE claim = 'repeated_tool_call') AS repeat_calls
    FROM turn_calls WHERE turn > 0 GROUP BY trace_id, turn
), base AS (
    SELECT l.* EXCLUDE (kind, tool_name, tool_args, short_output, ord),
        coalesce(t.n_tools, 0) AS n_tools, coalesce(t.n_failed, 0) AS n_failed,
        coalesce(t.retries, 0) AS retries, coalesce(t.repeats, 0) AS repeats,
        t.unknown_sig, t.unknown_result, t.sigs, t.results, t.ends_known, t.max_end_us,
        t.retry_calls, t.repeat_calls,
        CASE WHEN l.output_hash IS NULL THEN NULL WHEN NOT l.short_output THEN l.output_hash
             ELSE m.message END AS message,
        CASE WHEN l.output_hash IS NULL THEN NULL WHEN NOT l.short_output THEN false
             ELSE m.empty END AS empty
    FROM turn_spans l LEFT JOIN tools t USING (trace_id, turn)
    LEFT JOIN message_facts m USING (trace_id, span_id)
    WHERE l.kind = 'llm'
)
SELECT *,
    CASE WHEN n_tools > 0 THEN CASE WHEN NOT unknown_sig THEN 't' || sigs END
         WHEN status = 'error' AND message IS NULL THEN 'f' || coalesce(':' || model, '')
         WHEN message IS NOT NULL THEN 'm' || message END AS action,
    CASE WHEN n_tools > 0 AND NOT unknown_result THEN results END AS result,
    status = 'error' OR n_failed > 0 AS errored
FROM base
"""

_RUN_KEYS = {
    "ar": "CASE WHEN action IS NOT NULL AND result IS NOT NULL THEN action || '|' || result END",
    "err_key": "CASE WHEN errored THEN action END",
    "msg_key": "CASE WHEN n_tools = 0 AND status <> 'error' AND empty = false THEN message END",
    "empty_key": "CASE WHEN n_tools = 0 AND empty THEN 'empty' END",
}
_RUN_RULES = (  # key, rank, rule, minimum turns (analysis.stuck, in precedence order)
    ("ar", 1, "same_action_same_result", 4),
    ("err_key", 2, "same_action_error", 3),
    ("msg_key", 3, "same_message", 3),
    ("empty_key", 5, "empty_replies", 3),
)
_W = "OVER (PARTITION BY trace_id ORDER BY turn)"
_BREAKS = ",\n        ".join(
    f"CASE WHEN {k} IS NOT NULL AND {k} = lag({k}) {_W} THEN 0 ELSE 1 END AS {k}_brk"
    for k in _RUN_KEYS
)
_GROUPS = ",\n        ".join(
    f"sum({k}_brk) OVER (PARTITION BY trace_id ORDER BY turn ROWS UNBOUNDED PRECEDING) AS {k}_grp"
    for k in _RUN_KEYS
)
_RUN_WINDOWS = "\n    UNION ALL\n    ".join(
    f"SELECT trace_id, {rank} AS rank, '{rule}' AS rule, min(turn) AS first, max(turn) AS last "
    f"FROM grouped WHERE {key} IS NOT NULL GROUP BY trace_id, {key}_grp HAVING count(*) >= {n}"
    for key, rank, rule, n in _RUN_RULES
)
WINDOWS_SQL = f"""
CREATE OR REPLACE TEMP TABLE turn_windows AS
WITH keyed AS (
    SELECT trace_id, turn, {", ".join(f"{v} AS {k}" for k, v in _RUN_KEYS.items())}
    FROM turn_facts
), breaks AS (
    SELECT *, {_BREAKS},
        ar IS NOT NULL AND lag(ar) {_W} IS NOT NULL AND ar = lag(ar, 2) {_W}
            AND ar <> lag(ar) {_W} AS alt
    FROM keyed
), grouped AS (
    SELECT *, {_GROUPS} FROM breaks
), alternating AS (
    SELECT trace_id, turn, turn - row_number() OVER (PARTITION BY trace_id ORDER BY turn) AS island
    FROM breaks WHERE alt
)
SELECT * FROM (
    {_RUN_WINDOWS}
    UNION ALL
    SELECT trace_id, 4 AS rank, 'alternation' AS rule, min(turn) - 2 AS first, max(turn) AS last
    FROM alternating GROUP BY trace_id, island HAVING max(turn) - min(turn) + 3 >= 6
)
"""


def floordiv(num: str, den: str) -> str:
    """Python's floor division of integers (DuckDB's `//` truncates toward zero)."""
    return f"CASE WHEN ({num}) >= 0 THEN ({num}) // ({den}) ELSE -((-({num}) + ({den}) - 1) // ({den})) END"


_TOKENS = "(input_tokens + output_tokens)"
WASTE_SQL = f"""
CREATE OR REPLACE TEMP TABLE turn_waste AS
WITH stagnant AS (
    SELECT f.trace_id, f.turn,
        arg_min({{'rule': w.rule, 'first': w.first, 'last': w.last}},
                w.rank::BIGINT * 1000000000 + w.first) AS win
    FROM turn_facts f JOIN turn_windows w
        ON w.trace_id = f.trace_id AND f.turn > w.first AND f.turn <= w.last
    GROUP BY f.trace_id, f.turn
), before AS (  -- the previous turn that was not a refused call
    SELECT f.*, s.win IS NOT NULL AS stagnant, s.win,
        last_value(CASE WHEN NOT f.refused
                        THEN {{'i': f.input_tokens, 'o': f.output_tokens, 's': f.span_id}} END
                   IGNORE NULLS) OVER (PARTITION BY f.trace_id ORDER BY f.turn
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev
    FROM turn_facts f LEFT JOIN stagnant s USING (trace_id, turn)
), prev AS (
    SELECT * EXCLUDE (prev), prev IS NOT NULL AS has_prev, prev.i AS prev_in, prev.o AS prev_out,
        prev.s AS prev_span
    FROM before
), shares AS (
    SELECT *, CASE WHEN refused THEN 0 ELSE {_TOKENS} END AS tokens,
        CASE WHEN refused OR NOT has_prev THEN 0
             WHEN input_tokens IS NULL OR prev_in IS NULL OR prev_out IS NULL
                  OR cache_read_tokens IS NULL THEN NULL
             ELSE greatest(0, least(input_tokens, prev_in + prev_out) - cache_read_tokens)
        END AS uncached,
        NOT stagnant AND retries > 0 AS has_retry,
        NOT stagnant AND repeats > 0 AS has_repeat,
        CASE WHEN n_tools > 0 THEN n_tools - retries - repeats ELSE 1 END AS free,
        CASE WHEN n_tools > 0 THEN n_tools ELSE 1 END AS whole
    FROM prev
), claims AS (
    SELECT *,
        CASE WHEN has_retry THEN {floordiv("tokens * retries", "n_tools")} END AS retry_tokens,
        CASE WHEN has_retry THEN cost_usd * retries / n_tools END AS retry_usd,
        CASE WHEN has_repeat THEN {floordiv("tokens * repeats", "n_tools")} END AS repeat_tokens,
        CASE WHEN has_repeat THEN cost_usd * repeats / n_tools END AS repeat_usd,
        CASE WHEN stagnant THEN NULL WHEN free = 0 THEN 0
             ELSE {floordiv("uncached * free", "whole")} END AS unc_tokens
    FROM shares
), priced AS (
    SELECT *,
        NOT stagnant AND (unc_tokens IS NULL OR unc_tokens <> 0) AS unc_priced,
        CASE WHEN unc_tokens IS NOT NULL AND input_per_mtok IS NOT NULL
             THEN unc_tokens::DOUBLE * (input_per_mtok - cached_per_mtok) / 1e6 END AS unc_usd
    FROM claims
)
SELECT *,
    CASE WHEN stagnant THEN [cost_usd]
         ELSE list_concat(CASE WHEN has_retry THEN [retry_usd] ELSE []::DOUBLE[] END,
                          CASE WHEN has_repeat THEN [repeat_usd] ELSE []::DOUBLE[] END,
                          CASE WHEN unc_priced THEN [unc_usd] ELSE []::DOUBLE[] END)
    END AS usd_parts,
    CASE WHEN stagnant THEN tokens
         WHEN (has_retry AND retry_tokens IS NULL) OR (has_repeat AND repeat_tokens IS NULL)
              OR unc_tokens IS NULL THEN NULL
         ELSE coalesce(retry_tokens, 0) + coalesce(repeat_tokens, 0) + unc_tokens
    END AS turn_waste_tokens,
    stagnant OR retries > 0 OR errored AS stalled
FROM priced
"""

# Σ in order, None when any part is unknown: Python's sum() over the same sequence.
_SEQ_SUM = (
    "CASE WHEN len(list_filter({l}, lambda x: x IS NULL)) > 0 THEN NULL "
    "ELSE list_reduce({l}, lambda a, b: a + b, 0.0::DOUBLE) END"
)
INSERT_TURNS_SQL = f"""
INSERT INTO turns (trace_id, span_id, turn, tier, ttft_ms, end_offset_ms, cost_usd, cost_source,
    vram_gb_min, tool_calls, tool_errors, context_growth, uncached_tokens, waste_tokens,
    waste_usd, stalled, model, start_time, end_time, duration_ms, status, input_tokens,
    output_tokens, reasoning_tokens, cache_read_tokens, cache_write_tokens)
SELECT w.trace_id, w.span_id, w.turn, w.tier, w.ttft_ms,
    CASE WHEN w.end_us IS NOT NULL AND coalesce(w.ends_known, true)
         THEN (greatest(w.end_us, coalesce(w.max_end_us, w.end_us)) - epoch_us(t.start_time))::DOUBLE
              / 1000.0::DOUBLE END,
    w.cost_usd, w.cost_source, w.vram_gb_min, w.n_tools, w.n_failed,
    w.input_tokens - w.prev_in, w.uncached, w.turn_waste_tokens,
    {_SEQ_SUM.format(l="w.usd_parts")}, w.stalled,
    w.model, w.start_time, w.end_time, w.duration_ms, w.status, w.input_tokens,
    w.output_tokens, w.reasoning_tokens, w.cache_read_tokens, w.cache_write_tokens
FROM turn_waste w LEFT JOIN trajectories t USING (trace_id)
ORDER BY w.trace_id, w.turn
"""

# Evidence as json.dumps(..., sort_keys=True) writes it (keys sorted, ", " and ": ").
_J = "to_json({})::VARCHAR"
_CALLS_JSON = (
    "'{{\"calls\": [' || array_to_string(list_transform({calls}, lambda c: "
    "'{{\"{key}\": ' || to_json(c.earlier)::VARCHAR || ', \"span_id\": ' "
    "|| to_json(c.span_id)::VARCHAR || ', \"tool_name\": ' || to_json(c.tool_name)::VARCHAR "
    "|| '}}'), ', ') || '], \"tool_calls_in_turn\": ' || n_tools || '}}'"
)
_STAGNATION_JSON = (
    "'{\"first_span_id\": ' || "
    + _J.format("first_span")
    + " || ', \"rule\": ' || "
    + _J.format("w.win.rule")
    + " || ', \"window_span_ids\": [' || array_to_string(list_transform(window_span_ids, "
    "lambda x: to_json(x)::VARCHAR), ', ') || ']}'"
)
_UNCACHED_JSON = (
    "'{\"cache_read_tokens\": ' || cache_read_tokens || ', \"input_tokens\": ' || input_tokens"
    " || ', \"previous_input_tokens\": ' || prev_in || ', \"previous_output_tokens\": ' || prev_out"
    " || ', \"previous_span_id\": ' || "
    + _J.format("prev_span")
    + " || ', \"share_of_turn\": \"' || free || '/' || whole || '\", \"uncached_tokens\": ' "
    "|| uncached || '}'"
)
INSERT_FINDINGS_SQL = f"""
INSERT INTO findings (trace_id, span_id, category, turn, tokens, usd, evidence)
WITH spans_of AS (
    SELECT w.trace_id, w.win.first AS first, w.win.last AS last,
           list(f.span_id ORDER BY f.turn) AS window_span_ids,
           arg_min(f.span_id, f.turn) AS first_span
    FROM (SELECT DISTINCT trace_id, win FROM turn_waste WHERE stagnant) w
    JOIN turn_facts f ON f.trace_id = w.trace_id AND f.turn BETWEEN w.win.first AND w.win.last
    GROUP BY ALL
), rows AS (
    SELECT w.trace_id, w.span_id, 'stagnation' AS category, 1 AS rank, w.turn, w.tokens,
           w.cost_usd AS usd, {_STAGNATION_JSON} AS evidence
    FROM turn_waste w JOIN spans_of s
        ON s.trace_id = w.trace_id AND s.first = w.win.first AND s.last = w.win.last
    WHERE w.stagnant
    UNION ALL
    SELECT trace_id, span_id, 'error_retry', 2, turn, retry_tokens, retry_usd,
           {_CALLS_JSON.format(calls="retry_calls", key="failed_span_id")}
    FROM turn_waste WHERE has_retry
    UNION ALL
    SELECT trace_id, span_id, 'repeated_tool_call', 3, turn, repeat_tokens, repeat_usd,
           {_CALLS_JSON.format(calls="repeat_calls", key="earlier_span_id")}
    FROM turn_waste WHERE has_repeat
    UNION ALL
    SELECT trace_id, span_id, 'uncached_context', 4, turn, unc_tokens, unc_usd, {_UNCACHED_JSON}
    FROM turn_waste WHERE NOT stagnant AND unc_tokens IS NOT NULL AND unc_tokens <> 0
)
SELECT trace_id, span_id, category, turn, tokens, usd, evidence::JSON FROM rows
ORDER BY trace_id, turn, rank
"""


def _total(claimed: str, tokens: str) -> str:
    """A category's tokens over a trace: NULL when any claim on it is unknown."""
    return (
        f"CASE WHEN bool_or({claimed} AND {tokens} IS NULL) THEN NULL "
        f"ELSE coalesce(sum({tokens}) FILTER (WHERE {claimed}), 0) END"
    )


def _ratio(top: str, bottom: str) -> str:
    """Σtop / Σbottom over the calls where both are recorded (analysis.turn_rollup)."""
    both = f"{top} IS NOT NULL AND {bottom} IS NOT NULL"
    den = f"sum({bottom}) FILTER (WHERE {both})"
    return (
        f"CASE WHEN coalesce({den}, 0) = 0 THEN NULL "
        f"ELSE (sum({top}) FILTER (WHERE {both}))::DOUBLE / ({den})::DOUBLE END"
    )


_GROWTH = "input_tokens - prev_in"
UPDATE_TRAJECTORIES_SQL = f"""
UPDATE trajectories SET
    waste_tokens = w.waste_stagnation_tokens + w.waste_error_retry_tokens
        + w.waste_repeated_tokens + w.waste_uncached_tokens,
    waste_usd = w.waste_usd, waste_turns = w.waste_turns,
    waste_stagnation_tokens = w.waste_stagnation_tokens,
    waste_error_retry_tokens = w.waste_error_retry_tokens,
    waste_repeated_tokens = w.waste_repeated_tokens,
    waste_uncached_tokens = w.waste_uncached_tokens,
    cache_hit_rate = w.cache_hit_rate, reasoning_share = w.reasoning_share,
    context_growth = w.context_growth, io_ratio = w.io_ratio
FROM (
    SELECT trace_id,
        {_SEQ_SUM.format(l="flatten(list(usd_parts ORDER BY turn))")} AS waste_usd,
        count(*) FILTER (WHERE stagnant OR has_retry OR has_repeat) AS waste_turns,
        {_total("stagnant", "tokens")} AS waste_stagnation_tokens,
        {_total("has_retry", "retry_tokens")} AS waste_error_retry_tokens,
        {_total("has_repeat", "repeat_tokens")} AS waste_repeated_tokens,
        {_total("NOT stagnant", "unc_tokens")} AS waste_uncached_tokens,
        {_ratio("cache_read_tokens", "input_tokens")} AS cache_hit_rate,
        {_ratio("reasoning_tokens", "output_tokens")} AS reasoning_share,
        CASE WHEN count({_GROWTH}) = 0 THEN NULL
             ELSE (sum({_GROWTH}))::DOUBLE / count({_GROWTH})::DOUBLE END AS context_growth,
        {_ratio("input_tokens", "output_tokens")} AS io_ratio
    FROM turn_waste GROUP BY trace_id
) w WHERE trajectories.trace_id = w.trace_id
"""
DROP_SQL = [
    f"DROP TABLE IF EXISTS {name}"
    for name in ("turn_spans", "turn_calls", "turn_facts", "turn_windows", "turn_waste")
]
