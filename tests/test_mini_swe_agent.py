"""mini-swe-agent trajectory files (`*.traj.json`, format "mini-swe-agent-1.1"), read by the
messages adapter: the provider's response, the cost and the times are in each message's `extra`.

The file below has the shape of mini-swe-agent 2.3.0's own example
(`eval/example_trajectories/astropy__astropy-12907.traj.json` in SWE-agent/mini-swe-agent):
a config-heavy `info`, then OpenAI tool-calling messages whose `extra` carries the whole
LiteLLM response (`created`, `model`, `usage`), `cost` and `timestamp`, and tool results whose
`extra` carries `returncode`, `exception_info` and `timestamp`. Shortened, with round numbers.
"""

from __future__ import annotations

import json

from analysis.pipeline import ingest_path
from ingest.registry import detect
from ingest.source import Source

T0 = 1780680348  # the first response's `created`, epoch seconds
PROMPT = (
    "<pr_description>\nseparability_matrix is wrong for nested CompoundModels\n</pr_description>"
)
CALLS = [  # (command, created, ended, prompt, cached, completion, cost, tool returncode, tool ended)
    ("grep -rl separability_matrix astropy", T0, T0 + 2.5, 1798, 1792, 54, 7.5e-05, 0, T0 + 2.7),
    ("python reproduce.py", T0 + 3, T0 + 4.0, 1900, 1792, 60, 8.0e-05, 1, T0 + 4.5),
    ("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT", T0 + 5, T0 + 6.0, 2100, 1900, 40, 9.0e-05, 0, T0 + 6.2),
]  # fmt: skip


def trajectory(config_padding: int = 0) -> dict:
    messages = [
        {"role": "system", "content": "You are a helpful assistant that can use a shell."},
        {"role": "user", "content": PROMPT},
    ]
    for index, (command, created, ended, prompt, cached, out, cost, code, done) in enumerate(CALLS):
        call_id = f"call_{index}"
        call = {"index": 0, "id": call_id, "type": "function",
                "function": {"name": "bash", "arguments": json.dumps({"command": command})}}  # fmt: skip
        usage = {
            "completion_tokens": out, "prompt_tokens": prompt, "total_tokens": prompt + out,
            "completion_tokens_details": None, "prompt_tokens_details": {"cached_tokens": cached},
        }  # fmt: skip
        response = {"id": f"r{index}", "created": created, "model": "deepseek-v4-flash",
                    "object": "chat.completion", "usage": usage}  # fmt: skip
        extra = {"actions": [{"command": command, "tool_call_id": call_id}], "response": response,
                 "cost": cost, "timestamp": ended}  # fmt: skip
        messages.append({"content": "", "role": "assistant", "tool_calls": [call], "extra": extra})
        result = (
            f"<returncode>{code}</returncode>\n<output>\n{'Traceback' if code else 'ok'}\n</output>"
        )
        messages.append({
            "content": result, "role": "tool", "tool_call_id": call_id,
            "extra": {"raw_output": "ok", "returncode": code, "timestamp": done, "exception_info": ""},
        })  # fmt: skip
    config = {
        "agent": {"system_template": "x" * config_padding, "step_limit": 250, "cost_limit": 3.0},
        "model": {"model_name": "deepseek/deepseek-chat", "model_kwargs": {"temperature": 0.0}},
        "environment": {"cwd": "/testbed", "timeout": 60},
    }
    return {
        "info": {
            "model_stats": {"instance_cost": sum(c[6] for c in CALLS), "api_calls": 3},
            "config": config,
            "mini_version": "2.3.0",
            "exit_status": "Submitted",
            "submission": "--- a/astropy/modeling/separable.py\n+++ b/astropy/modeling/separable.py",
        },
        "messages": messages,
        "trajectory_format": "mini-swe-agent-1.1",
    }


def write(tmp_path, record: dict):
    path = tmp_path / "astropy__astropy-12907.traj.json"
    path.write_text(json.dumps(record, indent=2))
    return path


def test_a_config_longer_than_the_sniffed_bytes_is_still_recognised(tmp_path):
    path = write(tmp_path, trajectory(config_padding=40_000))
    assert detect(Source.open(path)).name == "messages_jsonl"


def test_calls_tools_times_tokens_and_cost_come_from_each_message_s_extra(tmp_path, con):
    report = ingest_path(con, write(tmp_path, trajectory()))
    assert (report.ok, report.format, report.spans, report.trajectories) == (
        True, "messages_jsonl", 7, 1,
    )  # fmt: skip
    with con.cursor() as cur:
        calls = cur.execute(
            "SELECT model, request_model, input_tokens, cache_read_tokens, output_tokens, "
            "cost_usd, duration_ms FROM spans WHERE kind = 'llm' ORDER BY seq"
        ).fetchall()
        tools = cur.execute(
            "SELECT tool_name, tool_args, status, duration_ms FROM spans WHERE kind = 'tool' "
            "ORDER BY seq"
        ).fetchall()
        run = cur.execute(
            "SELECT agent_name, llm_calls, tool_calls, tool_errors, turns, wall_ms, model_ms, "
            "tool_ms, input_tokens, cache_read_tokens, output_tokens, task_text FROM trajectories"
        ).fetchone()
    # the first call starts when the provider created its answer; each later one when the
    # tool result before it came back
    assert calls == [
        ("deepseek-v4-flash", "deepseek/deepseek-chat", 1798, 1792, 54, 7.5e-05, 2500.0),
        ("deepseek-v4-flash", "deepseek/deepseek-chat", 1900, 1792, 60, 8.0e-05, 1300.0),
        ("deepseek-v4-flash", "deepseek/deepseek-chat", 2100, 1900, 40, 9.0e-05, 1500.0),
    ]
    # a command that exits non-zero failed
    assert tools == [
        ("bash", '{"command":"grep -rl separability_matrix astropy"}', "ok", 200.0),
        ("bash", '{"command":"python reproduce.py"}', "error", 500.0),
        ("bash", '{"command":"echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"}', "ok", 200.0),
    ]
    assert run == (
        "mini-swe-agent", 3, 3, 1, 3, 6200.0, 5300.0, 900.0, 5798, 5484, 154,
        "<pr_description> separability_matrix is wrong for nested CompoundModels </pr_description>",
    )  # fmt: skip


def test_an_swe_agent_0x_traj_is_refused_with_why(shared_traces, con):
    """SWE-agent's older format keeps run totals only: refused as such, not as unknown."""
    report = ingest_path(con, shared_traces / "other" / "swe-agent_gpt4_pydicom__pydicom-1458.traj")
    assert not report.ok
    assert report.error == (
        "swe-agent_gpt4_pydicom__pydicom-1458.traj, byte 0: an SWE-agent 0.x .traj file, which "
        "AgentTime does not read: it keeps only the run's totals (info.model_stats), no tokens, "
        "times or cost per call to put in spans; mini-swe-agent's .traj.json files are read "
        "(see docs/formats.md)"
    )


def test_a_run_that_stopped_without_submitting_failed_and_a_timeout_says_so(tmp_path, con):
    """QA: a run that hit its limits read as an inferred success, and a command that timed
    out showed only its output."""
    record = trajectory()
    record["info"]["exit_status"] = "LimitsExceeded"
    timed_out = record["messages"][5]  # the second tool result
    timed_out["extra"]["exception_info"] = "TimeoutExpired: Command timed out after 60 seconds"
    assert ingest_path(con, write(tmp_path, record)).ok
    with con.cursor() as cur:
        run = cur.execute("SELECT outcome FROM trajectories").fetchone()
        root = cur.execute(
            "SELECT status, error_message FROM spans WHERE kind = 'agent'"
        ).fetchone()
        failed = cur.execute(
            "SELECT error_message FROM spans WHERE kind = 'tool' AND status = 'error'"
        ).fetchall()
    assert run == ("error",)
    assert root == ("error", "the run ended with exit status LimitsExceeded")
    assert failed == [("TimeoutExpired: Command timed out after 60 seconds",)]
