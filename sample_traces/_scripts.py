"""The little script language the demo trajectories are written in, and its player.

Why a text format: a trajectory reads like the agent's transcript (who said what, which tool
returned what), so a scenario can be checked by reading it; the numbers around it (tokens,
timings, ids) come from `Run`. Format, one line each:

"## key @ DAYS_AGO HH:MM | option | ..." starts a trajectory; options: task=ID, score=X,
error=Type: message (root span fails), nocache, example=NAME (LangSmith dataset example).
Steps: "user TEXT" (the task), "use MODEL", "~ TEXT" (the model's words with its next tool
call), "tool NAME {args} => RESULT" or "=! ErrorType: RESULT", "& ..." (another call in the
same turn, run in parallel), "> TEXT" (a reply without tools), "wait SECONDS TEXT" (the
user answers after an idle wait), "llm! Type: message" (the model call itself fails).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from datetime import timedelta

from _model import END, NS, Agent, Call, Run, seeded

Script = tuple[str, int, dict, list]


def parse_scripts(text: str) -> list[Script]:
    scripts = []
    for block in text.strip().split("\n## "):
        header, *lines = block.removeprefix("## ").strip().splitlines()
        head, *flags = header.split(" | ")
        key, when = head.split(" @ ")
        options = dict(flag.partition("=")[::2] for flag in flags)
        scripts.append((key, start_ns(key, when), options, _steps(lines)))
    return scripts


def start_ns(key: str, when: str) -> int:
    days_ago, clock = when.split()
    hour, minute = map(int, clock.split(":"))
    day = (END - timedelta(days=int(days_ago))).replace(hour=hour, minute=minute, second=0)
    jitter = seeded("start", key).randint(0, 59_999_999)
    return int(day.timestamp()) * NS + jitter * 1000


def _steps(lines: list[str]) -> list[tuple]:
    steps: list[tuple] = []
    for line in lines:
        word, _, rest = line.strip().partition(" ")
        rest = rest.replace("\\n", "\n")
        if word == "tool":
            steps.append(("tool", [_call(rest)]))
        elif word == "&":
            steps[-1][1].append(_call(rest))
        elif word == "wait":
            seconds, _, text = rest.partition(" ")
            steps.append(("wait", float(seconds), text))
        elif word == "llm!":
            steps.append(("llm!", tuple(rest.split(": ", 1))))
        else:
            steps.append((word, rest))
    return steps


def _call(text: str) -> Call:
    failed = " =! " in text
    head, result = text.split(" =! " if failed else " => ", 1)
    name, args = head.split(" ", 1)
    error = result.split(": ", 1)[0] if failed else None
    return Call(name, json.loads(args), result, error)


def play(agent: Agent, script: Script) -> Run:
    key, start, options, steps = script
    run = Run(agent, key, start, steps[0][1], options)
    model, thought = "", ""
    for step in steps[1:]:
        if step[0] == "use":
            model = step[1]
        elif step[0] == "~":
            thought = step[1]
        elif step[0] == "tool":
            run.act(model, thought, step[1])
            thought = ""
        elif step[0] == ">":
            run.llm(model, step[1])
        elif step[0] == "wait":
            run.wait(step[1], step[2])
        elif step[0] == "llm!":
            run.llm(model, error=step[1])
        else:
            raise ValueError(f"script {key!r}: unknown step {step[0]!r}")
    return run.finish()


def play_all(agent: Agent, texts: Iterable[str]) -> list[Run]:
    return [play(agent, script) for text in texts for script in parse_scripts(text)]


def variants(template: str, *rows: tuple[str, str, str, str]) -> str:
    """One script run several times: (variant, when, model, extra options) per row."""
    blocks = []
    for variant, when, model, options in rows:
        blocks.append(
            template.replace("$v", variant)
            .replace("$when", when)
            .replace("$model", model)
            .replace("$opts", options)
        )
    return "\n".join(blocks)


def routine_start(task: str, earliest_hour: int) -> tuple[random.Random, str]:
    """A generated routine task: its own random plan and a header at a random working hour."""
    rng = seeded("plan", task)
    when = f"{rng.randint(0, 13)} {rng.randint(earliest_hour, 16)}:{rng.randint(0, 59):02d}"
    return rng, f"## {task} @ {when} | task={task}"
