"""`make run` installs requirements.txt only (no dev packages): every package the app's
code imports must come with it, directly or as a dependency of a pinned package. A module
that only the test tools brought in (google.rpc, once) crashed the server on a fresh clone
while every test passed in the dev environment."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import PackageNotFoundError, distributions, packages_distributions, requires
from importlib.util import find_spec

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

APP_FOLDERS = ("analysis", "api", "ingest", "store", "ui", "views")
APP_FILES = ("app.py", "server.py")


def imported_modules() -> set[str]:
    """Dotted names the app imports from outside itself and the standard library."""
    files = [p for folder in APP_FOLDERS for p in (ROOT / folder).rglob("*.py")]
    files += [ROOT / name for name in APP_FILES]
    found = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
    local = set(sys.stdlib_module_names) | set(APP_FOLDERS)
    return {name for name in found if name.split(".")[0] not in local}


def owners() -> dict[str, str]:
    """Installed file -> the distribution that installed it."""
    return {
        str(dist.locate_file(file).resolve()): dist.metadata["Name"]
        for dist in distributions()
        for file in dist.files or ()
    }


def owner(module: str, files: dict[str, str]) -> str | None:
    """The distribution a module comes from: found by its file, since a namespace package
    (`google`) is shared by several (protobuf's google.protobuf, googleapis' google.rpc)."""
    spec = find_spec(module)
    if spec is not None and spec.origin and spec.origin in files:
        return files[spec.origin]
    return (packages_distributions().get(module.split(".")[0]) or [None])[0]


def runtime_closure() -> set[str]:
    """The pinned runtime packages and, recursively, what they require (extras excluded)."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    pending = [re.split(r"[=<>~!;\s]", line, maxsplit=1)[0] for line in lines]
    pending = [name for name in pending if name and not name.startswith("#")]
    closure: set[str] = set()
    while pending:
        name = canonicalize_name(pending.pop())
        if name in closure:
            continue
        closure.add(name)
        try:
            declared = requires(name) or []
        except PackageNotFoundError:
            continue
        for text in declared:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return closure


def test_every_package_the_app_imports_is_installed_by_requirements_txt():
    closure, files = runtime_closure(), owners()
    found = {module: owner(module, files) for module in sorted(imported_modules())}
    missing = {m: dist for m, dist in found.items() if canonicalize_name(dist or "") not in closure}
    assert not missing, f"imported by the app but not installed by requirements.txt: {missing}"
