"""OpenHands' stuck rules (openhands/controller/stuck.py) applied to a trajectory's turns.

An agent that repeats itself is not making progress; AgentCollab escalates on exactly this
kind of no-progress signal. Each rule finds windows of consecutive turns; the `stagnation`
waste category is every turn of a window after its first. Rules, in precedence order:

1. same_action_same_result: the same action with the same result 4 times in a row;
2. same_action_error: the same action ending in an error 3 times in a row;
3. same_message: the same assistant message 3 times with no tool call between them;
4. alternation: A-B-A-B-A-B over 6 turns (action and result alternate);
5. empty_replies: 3 empty replies in a row.

A window extends over as many turns as the pattern continues. OpenHands' sixth rule
(context-condensation loops) needs condensation events, which traces do not carry.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from analysis.turns import Turn

Key = Callable[[Turn], Hashable | None]


@dataclass(frozen=True)
class StuckWindow:
    rule: str
    turns: tuple[int, ...]

    @property
    def first(self) -> int:
        return self.turns[0]


def _known(key: Hashable) -> Hashable | None:
    return None if isinstance(key, tuple) and key and key[0] == "unknown" else key


def _action_result(turn: Turn) -> Hashable | None:
    action, result = _known(turn.action), _known(turn.result)
    return None if action is None or result is None else (action, result)


def _erroring_action(turn: Turn) -> Hashable | None:
    return _known(turn.action) if turn.errored else None


def _plain_message(turn: Turn) -> Hashable | None:
    if turn.tools or turn.failed or turn.empty is not False:
        return None
    return turn.message


def _empty_reply(turn: Turn) -> Hashable | None:
    return "empty" if turn.empty and not turn.tools else None


RUN_RULES: tuple[tuple[str, Key, int], ...] = (
    ("same_action_same_result", _action_result, 4),
    ("same_action_error", _erroring_action, 3),
    ("same_message", _plain_message, 3),
)
ALTERNATION_RULE, ALTERNATION_TURNS = "alternation", 6
EMPTY_RULE, EMPTY_TURNS = "empty_replies", 3


def stuck_windows(turns: Sequence[Turn]) -> list[StuckWindow]:
    """Every stuck window, rules in precedence order."""
    windows: list[StuckWindow] = []
    for rule, key, minimum in RUN_RULES:
        windows += _runs(turns, key, minimum, rule)
    windows += _alternations(turns)
    windows += _runs(turns, _empty_reply, EMPTY_TURNS, EMPTY_RULE)
    return windows


def stagnant_turns(turns: Sequence[Turn]) -> dict[int, StuckWindow]:
    """Turn index -> the window that makes it stagnation (all but each window's first turn)."""
    claimed: dict[int, StuckWindow] = {}
    for window in stuck_windows(turns):
        for index in window.turns[1:]:
            claimed.setdefault(index, window)
    return claimed


def _runs(turns: Sequence[Turn], key: Key, minimum: int, rule: str) -> list[StuckWindow]:
    windows, run, previous = [], [], None
    for turn in turns:
        value = key(turn)
        if value is not None and run and value == previous:
            run.append(turn.index)
        else:
            _close(windows, run, minimum, rule)
            run = [turn.index] if value is not None else []
        previous = value
    _close(windows, run, minimum, rule)
    return windows


def _close(windows: list[StuckWindow], run: list[int], minimum: int, rule: str) -> None:
    if len(run) >= minimum:
        windows.append(StuckWindow(rule, tuple(run)))


def _alternations(turns: Sequence[Turn]) -> list[StuckWindow]:
    """Stretches where every key equals the one two turns back and differs from the last."""
    keys = [_action_result(turn) for turn in turns]
    windows, first_alt = [], None
    for j in range(len(turns) + 1):
        alternates = (
            j < len(turns)
            and j >= 2
            and keys[j] is not None
            and keys[j - 1] is not None
            and keys[j] == keys[j - 2]
            and keys[j] != keys[j - 1]
        )
        if alternates and first_alt is None:
            first_alt = j
        elif not alternates and first_alt is not None:
            stretch = tuple(turn.index for turn in turns[first_alt - 2 : j])
            _close(windows, list(stretch), ALTERNATION_TURNS, ALTERNATION_RULE)
            first_alt = None
    return windows
