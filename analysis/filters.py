"""The trajectory filter every page shares, turned into a parameterised WHERE clause.

Only the fragments below ever reach SQL text; every value the user chose is a bound
parameter, so a filter bound to the URL cannot inject SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

# field -> SQL fragment with one `?` (column names are fixed here, never user input)
FILTER_SQL = {
    "agent": "agent_name = ?",
    "model": "list_contains(models, ?)",
    "session": "session_id = ?",
    "task": "task_key = ?",
    "outcome": "outcome = ?",
    "verdict": "verdict = ?",
    "since": "start_time >= ?",
    "until": "start_time < ?",
    "upload": "list_contains(upload_ids, ?)",
    "source": "source = ?",
    "tier": "tier = ?",
    "trace_ids": "trace_id IN (SELECT unnest(?))",
}


@dataclass(frozen=True)
class TrajectoryFilter:
    agent: str | None = None
    model: str | None = None
    session: str | None = None
    task: str | None = None
    outcome: str | None = None
    verdict: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    upload: str | None = None
    source: str | None = None
    tier: str | None = None
    trace_ids: tuple[str, ...] | None = None  # e.g. the runs a text search found

    def where(self, alias: str = "") -> tuple[str, list]:
        """(`WHERE ...` or "", params); `alias` prefixes columns, e.g. "t."."""
        clauses, params = [], []
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None or value == "":
                continue
            clauses.append(_prefixed(FILTER_SQL[item.name], alias))
            params.append(list(value) if isinstance(value, tuple) else value)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), params

    def scope(self) -> tuple[str, list]:
        """A sub-select of the matching trace ids, for queries over turns and findings."""
        where, params = self.where()
        return f"SELECT trace_id FROM trajectories {where}", params


def _prefixed(fragment: str, alias: str) -> str:
    if not alias:
        return fragment
    if fragment.startswith("list_contains("):
        return fragment.replace("list_contains(", f"list_contains({alias}", 1)
    return alias + fragment


NO_FILTER = TrajectoryFilter()
