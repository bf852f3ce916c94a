"""The install is either compiled as setup.py lists or not at all: a partial set of compiled
modules would fail to import (they share one runtime library), and the bench must say which
of the two it measured."""

from __future__ import annotations

import ast
import subprocess
import sys

from proxy.runtime import build_info
from tests.conftest import ROOT


def _listed_in_setup() -> set[str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "COMPILED":
            paths = ast.literal_eval(node.value)
            return {p.removesuffix(".py").replace("/", ".") for p in paths}
    raise AssertionError("setup.py has no COMPILED list")


def test_all_or_none_of_the_listed_modules_are_compiled() -> None:
    compiled = set(build_info.compiled_modules())
    assert compiled in (set(), _listed_in_setup())


def test_every_listed_module_exists() -> None:
    for name in _listed_in_setup():
        assert (ROOT / (name.replace(".", "/") + ".py")).is_file(), name


def test_version_says_how_the_request_path_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "proxy", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("dialect 0.1.0, ")
    if build_info.compiled_modules():
        assert f"compiled with mypyc ({len(_listed_in_setup())} modules)" in out
    else:
        assert "pure Python" in out


def _reused_except_names(source: str) -> list[str]:
    found = []
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        kinds: dict[str, str] = {}
        for node in ast.walk(func):
            if isinstance(node, ast.ExceptHandler) and node.name and node.type is not None:
                kind = ast.unparse(node.type)
                if kinds.setdefault(node.name, kind) != kind:
                    found.append(f"{func.name}:{node.lineno} {node.name}")
    return found


def test_compiled_modules_give_each_except_clause_its_own_name() -> None:
    # Compiled, a name bound by ``except A as e`` keeps A's type in the whole function: a
    # later ``except B as e`` fails with a TypeError instead of handling B.
    for name in sorted(_listed_in_setup()):
        source = (ROOT / (name.replace(".", "/") + ".py")).read_text()
        assert _reused_except_names(source) == [], name
