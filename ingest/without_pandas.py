"""Keeps pandas out of the command-line processes, which never hold a pandas object.

pyarrow imports pandas (0.2 s) on its first conversion of Python values, only to ask
whether they are pandas objects; `python -m ingest` and its decoding workers convert
before anything else and would pay that import on every run. The Streamlit server, whose
tables and AppTest use pandas, never calls this.
"""

from __future__ import annotations

import importlib.abc
import sys


class _WithoutPandas(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "pandas":
            raise ImportError("pandas is kept out of this command-line process")
        return None


def keep_pandas_out() -> None:
    """Refuse `import pandas` in this process from now on (a no-op the second time)."""
    if not any(isinstance(finder, _WithoutPandas) for finder in sys.meta_path):
        sys.meta_path.insert(0, _WithoutPandas())
