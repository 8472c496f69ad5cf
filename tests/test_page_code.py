"""Rules the pages' code keeps that no single page test can see.

Polars runs a Python function given to `map_elements`/`map_batches` on its thread pool,
which then needs the GIL; a second session's script thread can hold the GIL while it waits
on that same pool (Streamlit converting a frame to show it). Two reviewers submitting at
once froze the whole server that way (reproduced under load, stacks dumped with py-spy), so
page code builds per-row Python values in Python (`ui.fleet_links.links`)."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

UDF_METHODS = {"map_elements", "map_batches", "map_rows", "apply"}


def test_page_code_gives_polars_no_python_functions_to_run():
    calls = []
    for path in [*(ROOT / "ui").rglob("*.py"), *(ROOT / "views").rglob("*.py"), ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in UDF_METHODS:
                calls.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert calls == []
